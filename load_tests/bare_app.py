"""The floor of the stack for `make bench`'s per-step table: a bare FastAPI app served with the
same uvicorn flags as the app. Nothing of ours runs in it.

- /api/v1/ping: the HTTP stack alone.
- /floor/redis: plus one Redis round trip (redis-py with hiredis, as the app uses it), the least
  an authenticated request pays to read its session.
- /floor/durable: plus one durable PostgreSQL upsert through asyncpg (a prepared statement, its
  own transaction, synchronous_commit on): the least an answer save that is acknowledged only
  once committed can cost in this stack, whatever the app around it does.
"""
import os
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from redis.asyncio import Redis

_UPSERT = ("INSERT INTO bench_floor (k, v) VALUES ($1, $2) "
           "ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v RETURNING k")


@asynccontextmanager
async def lifespan(app: FastAPI):
    app.state.redis = Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15")
    url = os.environ.get("DATABASE_URL", "")
    app.state.pg = None
    if url.startswith("postgresql"):
        app.state.pg = await asyncpg.create_pool(url.replace("postgresql+asyncpg://", "postgresql://"),
                                                 min_size=1, max_size=2)
        async with app.state.pg.acquire() as conn:
            try:
                await conn.execute("CREATE TABLE IF NOT EXISTS bench_floor (k int PRIMARY KEY, v int NOT NULL)")
            except asyncpg.UniqueViolationError:
                pass  # the other worker created it at the same moment
    yield
    await app.state.redis.aclose()
    if app.state.pg is not None:
        await app.state.pg.close()


app = FastAPI(lifespan=lifespan)


@app.get("/api/v1/ping")
async def ping():
    return {"ok": True}


@app.get("/floor/redis")
async def floor_redis():
    await app.state.redis.get("bench:floor")
    return {"ok": True}


@app.put("/floor/durable/{k}")
async def floor_durable(k: int):
    await app.state.redis.get("bench:floor")
    async with app.state.pg.acquire() as conn:
        await conn.fetchval(_UPSERT, k % 1000, k)
    return {"ok": True}
