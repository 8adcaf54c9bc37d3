"""Which Redis holds the leaderboards.

By default the app's one Redis (REDIS_URL, or the embedded one). A national contest can move the
boards to their own Redis or to a Redis Cluster (LEADERBOARD_REDIS_URL, LEADERBOARD_REDIS_CLUSTER):
every key of a round carries the hash tag `{r<id>}` (keys.py), so each round lives in one slot
and its Lua scripts stay atomic, while different rounds spread over the cluster.
"""

from __future__ import annotations

from app.config import Settings

_OPTIONS = dict(decode_responses=True, socket_connect_timeout=2, socket_timeout=5)


def create_board_redis(settings: Settings, default):
    """The boards' own client, on LEADERBOARD_REDIS_URL or else on the app's Redis.

    Own, even on the app's Redis, for its pool: a blocking pool, so that in a burst of submits a
    board update waits a moment for a connection instead of failing (redis-py's default pool
    raises "Too many connections" at once, and the board would miss a submit until a rebuild)."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from app.core.redis import redis_url

    size = settings.leaderboard_redis_max_connections
    if settings.leaderboard_redis_url and settings.leaderboard_redis_cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(settings.leaderboard_redis_url, max_connections=size, **_OPTIONS)
    url = settings.leaderboard_redis_url or redis_url(settings)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=size, timeout=10, health_check_interval=30, retry_on_timeout=True, **_OPTIONS
    )
    return Redis.from_pool(pool)  # closes the pool with the client
