"""Overload: when every pooled connection (PostgreSQL or Redis) stays busy, a request waits a
moment and then gets a clear 503 "try again" (JSON with Retry-After), never a 500, and the app
serves again as soon as a connection is free."""
from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from app.main import create_app


@contextlib.asynccontextmanager
async def small_app(settings, **pools):
    app = create_app(settings.model_copy(update=pools))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
            yield app, http


def assert_try_again(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"]
    body = response.json()
    assert body["error"]["code"] == "service_unavailable" and "thử lại" in body["error"]["message"]


async def test_an_exhausted_database_pool_answers_503_then_recovers(settings, is_postgres, factory):
    if not is_postgres:
        pytest.skip("SQLite has no connection pool to exhaust (one file, one writer)")
    await factory.round()  # something for /api/v1/contests to read
    async with small_app(settings, db_pool_size=1, db_max_overflow=0, db_pool_timeout_seconds=0.3) as (app, http):
        async with app.state.runtime.engine.connect() as held:  # the only connection, held
            await held.exec_driver_sql("SELECT 1")
            assert_try_again(await http.get("/api/v1/contests"))
        assert (await http.get("/api/v1/contests")).status_code == 200


async def test_an_exhausted_redis_pool_answers_503_then_recovers(settings, factory):
    participant = await factory.participant()
    token = participant.token
    async with small_app(settings, redis_max_connections=1, redis_pool_timeout_seconds=0.3) as (app, http):
        headers = {"Authorization": f"Bearer {token}"}
        assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
        # BLPOP keeps the only connection busy for a second.
        blocker = asyncio.create_task(app.state.runtime.redis.blpop(["overload-test-nothing"], timeout=1))
        await asyncio.sleep(0.05)
        assert_try_again(await http.get("/api/v1/me", headers=headers))
        await blocker
        assert (await http.get("/api/v1/me", headers=headers)).status_code == 200
