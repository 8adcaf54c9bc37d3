"""Rate limits, counted in Redis so they hold across workers and hosts (the login lock-out is
kept in the database: app.accounts.lockout).

Fixed windows (one INCR per hit, the window starting at the first hit): cheap, one round trip,
and good enough against password guessing and scripted registrations; a participant clicking
normally never comes near the limits. A refusal is a 429 with Retry-After in seconds.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from functools import lru_cache

from fastapi import Request

from app.core.errors import AppError
from app.core.runtime import request_runtime

# Counts a hit; returns {count, milliseconds left in the window}.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {n, ttl}
"""


@dataclass(frozen=True)
class Limit:
    hits: int
    seconds: int


@lru_cache(maxsize=64)
def parse_limit(text: str) -> Limit:
    """ "30/60" -> at most 30 hits per 60 seconds. "0/..." or "" disables the limit."""
    if not text:
        return Limit(0, 1)
    hits, _, seconds = text.partition("/")
    return Limit(int(hits), max(1, int(seconds or 60)))


class TooManyRequests(AppError):
    status = 429

    def __init__(self, retry_after_ms: int, code: str = "rate_limited", message: str | None = None):
        seconds = max(1, math.ceil(retry_after_ms / 1000))
        super().__init__(
            code,
            message or f"Bạn thao tác quá nhanh. Vui lòng thử lại sau {_human(seconds)}.",
            headers={"Retry-After": str(seconds)},
        )
        self.retry_after = seconds


def _human(seconds: int) -> str:
    return f"{seconds} giây" if seconds < 120 else f"{math.ceil(seconds / 60)} phút"


def identity(value: str) -> str:
    # Keys hold a hash, not the phone/CCCD itself: a Redis dump does not list who tried to log in.
    return hashlib.sha256(value.encode()).hexdigest()[:24]


def client_ip(request: Request) -> str:
    # uvicorn --proxy-headers has already replaced the peer by X-Forwarded-For from trusted proxies.
    return request.client.host if request.client else "unknown"


class Limiter:
    def __init__(self, redis):
        self.redis = redis
        self._hit = redis.register_script(_HIT)

    async def hit_all(self, hits: list[tuple[str, str, Limit]]) -> None:
        """`hit` for several (action, who, limit) in one round trip. Every one is counted, also
        when an earlier one refuses (unlike consecutive `hit`s): use it where that only ever
        holds back the caller (their own account)."""
        hits = [h for h in hits if h[2].hits > 0]
        if len(hits) < 2:
            for action, who, limit in hits:
                await self.hit(action, who, limit)
            return
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in hit_commands(hits):
                pipe.execute_command(*command)
            check_hits(hits, await pipe.execute())

    async def hit(self, action: str, who: str, limit: Limit) -> None:
        """Counts one `action` by `who`; raises TooManyRequests once over the limit."""
        if limit.hits <= 0:
            return
        count, ttl = await self._hit(keys=[f"rl:{action}:{who}"], args=[limit.seconds * 1000])
        if int(count) > limit.hits:
            raise TooManyRequests(int(ttl))


def hit_commands(hits: list[tuple[str, str, Limit]]) -> list[tuple]:
    """`Limiter.hit_all`'s Redis commands, for a caller that sends them in a round trip of its own
    (the open sends them with the waiting room's admission); `check_hits` reads their replies.
    EVAL with the text: a pipeline of registered scripts first asks SCRIPT EXISTS."""
    return [
        ("EVAL", _HIT, 1, f"rl:{action}:{who}", limit.seconds * 1000) for action, who, limit in hits if limit.hits > 0
    ]


def check_hits(hits: list[tuple[str, str, Limit]], replies: list) -> None:
    """Raises TooManyRequests if any of `hit_commands(hits)`'s replies is over its limit."""
    enabled = [limit for _, _, limit in hits if limit.hits > 0]
    for limit, (count, ttl) in zip(enabled, replies, strict=True):
        if int(count) > limit.hits:
            raise TooManyRequests(int(ttl))


def limiter(request: Request) -> Limiter:
    return request_runtime(request).limiter


async def check(
    request: Request, action: str, *, ip_limit: str, account: str | None = None, account_limit: str = ""
) -> None:
    """One hit per IP and (if given) per account for `action`; 429 when either is over."""
    lim = limiter(request)
    await lim.hit(action + ":ip", identity(client_ip(request)), parse_limit(ip_limit))
    if account:
        await lim.hit(action + ":acct", identity(account), parse_limit(account_limit))
