"""The waiting room: admission control for opening attempts when a round opens.

A weekly round opens at a fixed hour and a whole province presses "Bắt đầu thi" in the same
minute. Opening an attempt is the dearest step of the journey (a paper drawn, a row written), so
opens are admitted at a configured rate (ADMIT_OPENS_PER_SECOND, for the whole deployment) and
the overflow waits in line, first come, first served:

- Redis holds one counter of tickets issued and one "now serving" figure that advances with time
  at the admission rate (a token bucket in ticket space, capped at `issued + burst` so an idle
  room lets the next `burst` people straight in). Every app process and host shares them, so the
  order is the order of arrival across the whole deployment.
- A person's ticket is kept under their user id and round, so coming back (a retry, the waiting
  page refreshing itself, another worker) keeps their place; it expires WAITING_ROOM_TICKET_SECONDS
  after their last visit, so whoever gives up leaves nothing behind: no attempt is created until
  the ticket is admitted, and the attempt's clock starts only then.
- Only opening waits. Resuming, saving answers and submitting never pass through here: people
  already inside an attempt always go first. Someone who still has an attempt in progress in the
  round is let in at once (the open hands back that attempt).

One Lua script per open (one round trip), whatever the outcome. The clock is the app's, passed in
(hosts keep NTP time; the script never lets "now serving" move backwards).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.models import IN_PROGRESS, Attempt
from app.core.errors import AppError

ROOM_KEY = "{wr}:open"  # hash tag: under Redis Cluster the room and its tickets share a slot

# KEYS[1] room state {issued, served, ts}; KEYS[2] this person's ticket.
# ARGV: now (ms), admissions per second, burst, ticket ttl (s).
# Returns {admitted (0/1), ticket, position (1 = next), new ticket (0/1)}.
_ADMIT = """
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'issued', 'served', 'ts')
local issued = tonumber(state[1] or '0')
local served = tonumber(state[2] or ARGV[3])  -- a new room is an idle one
local ts = tonumber(state[3] or ARGV[1])
if now > ts then
  served = served + (now - ts) * rate / 1000
  ts = now
end
if served > issued + burst then served = issued + burst end
local ticket = tonumber(redis.call('GET', KEYS[2]) or '0')
local new = 0
if ticket == 0 then
  issued = issued + 1
  ticket = issued
  new = 1
end
redis.call('HSET', KEYS[1], 'issued', issued, 'served', string.format('%.6f', served), 'ts', ts)
redis.call('SET', KEYS[2], ticket, 'EX', ARGV[4])
if ticket <= served then return {1, ticket, 0, new} end
return {0, ticket, math.ceil(ticket - served), new}
"""


@dataclass(frozen=True)
class Admission:
    admitted: bool
    ticket: int
    position: int  # 0 when admitted; 1 = the next one in
    new_ticket: bool
    estimated_wait_seconds: int
    retry_after_seconds: int


def ticket_key(user_id: int, round_id: int) -> str:
    return f"{{wr}}:t:{user_id}:{round_id}"


class WaitingRoom:
    def __init__(
        self,
        redis: Redis,
        *,
        rate: float,
        burst: int,
        ticket_ttl: int = 120,
        clock: Callable[[], float] = time.time,
        key: str = ROOM_KEY,
    ):
        self.redis = redis
        self.key = key
        self.rate = rate
        self.burst = burst
        self.ticket_ttl = ticket_ttl
        self.clock = clock
        self._admit = redis.register_script(_ADMIT)

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def admit(self, user_id: int, round_id: int) -> Admission:
        """Takes (or keeps) this person's place in line; admitted or not, with their position."""
        if not self.enabled:
            return Admission(True, 0, 0, False, 0, 0)
        admitted, ticket, position, new = await self._admit(
            keys=[self.key, ticket_key(user_id, round_id)],
            args=[int(self.clock() * 1000), self.rate, self.burst, self.ticket_ttl],
        )
        position = int(position)
        wait = math.ceil(position / self.rate) if position else 0
        # Come back about when the turn comes (a long line polls rarely, the front often), and
        # well before the ticket would expire.
        retry = 0 if admitted else max(1, min(wait, 30, self.ticket_ttl // 3))
        return Admission(bool(admitted), int(ticket), position, bool(new), wait, retry)

    async def holds_ticket(self, user_id: int, round_id: int) -> bool:
        return bool(await self.redis.exists(ticket_key(user_id, round_id)))

    async def wait_turn(self, db: AsyncSession, user_id: int, round_id: int) -> None:
        """Returns when this person may open an attempt now; raises PleaseWait otherwise."""
        admission = await self.admit(user_id, round_id)
        if admission.admitted:
            return
        # Someone coming back to an attempt already running (another tab, a reload of the start
        # form) is inside already: let them in, and give the place in line back. Checked once, on
        # arrival, not on every refresh of the waiting screen.
        if (
            admission.new_ticket
            and await db.scalar(
                select(Attempt.id)
                .where(Attempt.round_id == round_id, Attempt.user_id == user_id, Attempt.status == IN_PROGRESS)
                .limit(1)
            )
            is not None
        ):
            await self.redis.delete(ticket_key(user_id, round_id))
            return
        raise PleaseWait(admission)


class PleaseWait(AppError):
    """Not yet: the API answers 429 with Retry-After and the place in line; pages show the
    waiting screen instead (app.attempts.pages)."""

    status = 429

    def __init__(self, admission: Admission):
        minutes = human_wait(admission.estimated_wait_seconds)
        super().__init__(
            "waiting_room",
            f"Đang có nhiều người bắt đầu làm bài cùng lúc. Bạn đang ở vị trí số {admission.position} "
            f"trong hàng chờ (dự kiến khoảng {minutes}). Hãy giữ nguyên trang này: thời gian chờ không "
            f"tính vào thời gian làm bài.",
            details={
                "position": admission.position,
                "estimated_wait_seconds": admission.estimated_wait_seconds,
                "retry_after_seconds": admission.retry_after_seconds,
            },
            headers={"Retry-After": str(admission.retry_after_seconds)},
        )
        self.admission = admission


def human_wait(seconds: int) -> str:
    if seconds < 60:
        return f"{max(1, seconds)} giây"
    return f"{math.ceil(seconds / 60)} phút"
