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
    """The client the boards use; `default` (the app's client) unless configured otherwise."""
    url = settings.leaderboard_redis_url
    if not url:
        return default
    if settings.leaderboard_redis_cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(url, **_OPTIONS)
    from redis.asyncio import Redis

    return Redis.from_url(url, health_check_interval=30, retry_on_timeout=True, **_OPTIONS)
