"""The waiting room: admission control for opening attempts when a round opens.

A weekly round opens at a fixed hour and a whole province presses "Bắt đầu thi" in the same
minute. Opening an attempt is the dearest step of the journey (a paper drawn, a row written), so
opens are admitted at the pace the servers can take and the overflow waits in line, first come,
first served:

- Redis holds one counter of tickets issued and one "now serving" figure that advances with time
  (a token bucket in ticket space, capped at `issued + burst` so an idle room lets the next
  `burst` people straight in). Every app process and host shares them, so the order is the order
  of arrival across the whole deployment.
- The pace adapts to measured load (app/attempts/admission.py): each decision advances the line
  at ADMIT_OPENS_PER_SECOND (the ceiling) times the deciding process's health, which falls with
  its opens in flight and its event-loop lag; a process that is full admits nobody more until it
  has caught up. Admitted opens then take turns at that process's gate, so however many arrive at
  once, the saves of people already answering are never stuck behind a pile of opens.
- A person's ticket is kept under their user id and round, so coming back (a retry, the waiting
  page refreshing itself, another worker) keeps their place; it expires WAITING_ROOM_TICKET_SECONDS
  after their last visit, so whoever gives up leaves nothing behind: no attempt is created until
  the ticket is admitted, and the attempt's clock starts only then.
- Someone arriving when nobody is waiting ahead of them, at a process with nothing in flight, goes
  straight in whatever the pace: one person pressing "Bắt đầu" in a quiet hour, or people coming
  one after another, are never queued. It lets in at most one open at a time per process, so a
  rush still takes the line's pace.
- Only opening waits. Resuming, saving answers and submitting never pass through here: people
  already inside an attempt always go first. Someone who still has an attempt in progress in the
  round is let in at once (the open hands back that attempt).

One Lua script per open (one round trip), whatever the outcome. The clock is the app's, passed in
(hosts keep NTP time; the script never lets "now serving" move backwards).
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import NoScriptError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.admission import GateTimeout, LoadGauge, LoadSignal
from app.attempts.answers import AnswerWriter
from app.attempts.models import IN_PROGRESS, Attempt
from app.config import Settings
from app.core.clock import human_wait
from app.core.errors import AppError

ROOM_KEY = "{wr}:open"  # hash tag: under Redis Cluster the room and its tickets share a slot

# KEYS[1] room state {issued, served, ts, speed}; KEYS[2] this person's ticket.
# ARGV: now (ms), admissions per second now (the ceiling times this process's health), idle burst
# now, ticket ttl (s), longest interval one call may advance the line by (ms, 0: no limit), the
# ceiling (the first estimate of the line's speed), and when following the opens (0: not) the
# multiple of the deployment's measured opens per second the line may move at, plus a floor; 1 when
# the deciding process is idle (nothing in flight, every signal light).
# Returns {admitted (0/1), ticket, position (1 = next), new ticket (0/1), speed (admissions/s)}.
OPENS_TAU_MS = 3000  # the deployment's opens per second: an exponentially decayed count over ~3 s

_ADMIT = """
local OPENS_TAU = __TAU__
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local max_dt = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'issued', 'served', 'ts', 'speed', 'opens', 'opens_ts')
local issued = tonumber(state[1] or '0')
local served = tonumber(state[2] or ARGV[3])  -- a new room is an idle one
local ts = tonumber(state[3] or ARGV[1])
-- Nobody has called for longer than a ticket lives (each visit renews only its own ticket, and the
-- last visit of anyone was at ts): every ticket still unserved has expired, its holder gone. They
-- must not hold back whoever comes now (someone alone after a burst of people who gave up).
if now - ts > tonumber(ARGV[4]) * 1000 and served < issued then served = issued end
local speed = tonumber(state[4] or ARGV[6])
if max_dt > 0 and now - ts > max_dt then ts = now - max_dt end
local follow = tonumber(ARGV[7] or '0')
if follow > 0 then
  -- Never much faster than the deployment really opens (a slow start, then twice what it
  -- managed over the last few seconds): admitted people beyond that would only queue inside.
  local opens = tonumber(state[5] or '0') * math.exp(-math.max(0, now - tonumber(state[6] or ARGV[1])) / OPENS_TAU)
  rate = math.min(rate, follow * opens + tonumber(ARGV[8]))
end
if now > ts then
  local line = served < issued
  local before = served
  served = served + (now - ts) * rate / 1000
  if line then
    -- How fast the line really moves (the waiting time told to people), smoothed over ~5 s.
    local dt = (now - ts) / 1000
    local alpha = math.min(1, dt / 5)
    speed = speed + alpha * ((served - before) / dt - speed)
  end
  ts = now
end
-- An idle room lets the next few straight in, as many as the load allows right now; never
-- below `issued`, so nobody already admitted loses their turn.
if served > issued + burst then served = issued + burst end
local ticket = tonumber(redis.call('GET', KEYS[2]) or '0')
local new = 0
if ticket == 0 then
  issued = issued + 1
  ticket = issued
  new = 1
end
-- The next in line (nobody ahead still waiting) asking a process that has nothing to do goes in
-- now, whatever the pace: holding them back would only leave that process idle. One at a time
-- per process (it is not idle again until this open is done), so no rush gets through here.
if tonumber(ARGV[9] or '0') > 0 and ticket > served and ticket - served <= 1 then served = ticket end
redis.call('HSET', KEYS[1], 'issued', issued, 'served', string.format('%.6f', served), 'ts', ts,
           'speed', string.format('%.4f', speed))
redis.call('SET', KEYS[2], ticket, 'EX', ARGV[4])
local s = string.format('%.4f', speed)
if ticket <= served then return {1, ticket, 0, new, s} end
return {0, ticket, math.ceil(ticket - served), new, s}
""".replace("__TAU__", str(OPENS_TAU_MS))

# An attempt was opened (the admitted person came in): the deployment's decayed opens count.
# KEYS[1] room state; ARGV: now (ms).
_OPENED = """
local now = tonumber(ARGV[1])
local state = redis.call('HMGET', KEYS[1], 'opens', 'opens_ts')
local opens = tonumber(state[1] or '0')
local ts = tonumber(state[2] or ARGV[1])
if now > ts then opens = opens * math.exp(-(now - ts) / __TAU__) else now = ts end
opens = opens + 1000 / __TAU__
redis.call('HSET', KEYS[1], 'opens', string.format('%.4f', opens), 'opens_ts', now)
""".replace("__TAU__", str(OPENS_TAU_MS))


@dataclass(frozen=True)
class Admission:
    admitted: bool
    ticket: int
    position: int  # 0 when admitted; 1 = the next one in
    new_ticket: bool
    estimated_wait_seconds: int
    retry_after_seconds: int


@dataclass(frozen=True)
class Alongside:
    """Redis commands sent in the admission's own round trip, before its script, and the check of
    their replies, run before the admission's answer is used (it raises to refuse the open): the
    API's open sends its rate limits this way (app/accounts/throttle.py), one round trip fewer.
    Unlike a check made before the admission, a refused request still takes its place in line:
    one ticket per person and round, which they would hold anyway by asking under the limit."""

    commands: Sequence[tuple]
    check: Callable[[list], None]


def ticket_key(user_id: int, round_id: int) -> str:
    return f"{{wr}}:t:{user_id}:{round_id}"


class WaitingRoom:
    """`rate`: admissions per second for the whole deployment, a ceiling when `load` is given
    (app/attempts/admission.py): then each decision admits at `rate` times the deciding
    process's health, the idle burst shrinks the same way, one call advances the line by at
    most `max_step_seconds` of time (a process that was busy while nobody asked must not let a
    whole interval's worth in at once), and admitted opens pass the process's gate.
    The line never moves slower than `min_share` of `rate` while people wait (liveness).
    `follow_opens` > 0: the line also moves at most that many times as fast as the deployment
    has been opening attempts over the last few seconds, plus `follow_floor` per second (a slow
    start): a ceiling set for bigger hosts then admits no more than these ones get through."""

    def __init__(
        self,
        redis: Redis,
        *,
        rate: float,
        burst: int,
        ticket_ttl: int = 120,
        clock: Callable[[], float] = time.time,
        key: str = ROOM_KEY,
        load: LoadGauge | LoadSignal | None = None,
        max_step_seconds: float = 1.0,
        follow_opens: float = 0.0,
        follow_floor: float = 2.0,
        min_share: float = 0.1,
    ):
        self.redis = redis
        self.min_share = min_share
        self.key = key
        self.rate = rate
        self.burst = burst
        self.ticket_ttl = ticket_ttl
        self.clock = clock
        self.load = load
        self.max_step_ms = int(max_step_seconds * 1000) if load is not None else 0
        self.follow_opens = follow_opens
        self.follow_floor = follow_floor
        self._admit = redis.register_script(_ADMIT)
        self._opened = redis.register_script(_OPENED)

    @classmethod
    def from_settings(cls, settings: Settings, redis: Redis, answers: AnswerWriter | None = None) -> WaitingRoom:
        """The deployment's room (in the app's lifespan: the gauge samples the running loop). With
        adaptive admission on, the idle burst is at most what the processes' gates hold (more
        would only wait at the gates, and count as load that shuts the room for all behind), the
        line follows the opens really done, and the worker's answer saves report their latency."""
        load = None
        burst = math.ceil(settings.admit_opens_per_second)
        if settings.admit_opens_in_flight > 0:
            load = LoadGauge(
                settings.admit_opens_in_flight, settings.admit_lag_bound_ms, save_bound_ms=settings.admit_save_bound_ms
            )
            load.start()
            if answers is not None:
                answers.observe = load.observe_save
            burst = min(burst, 2 * settings.admit_opens_in_flight)
        burst = settings.admit_opens_burst or max(1, burst)
        # The slow start's floor: what the gates can take in a second anyway.
        return cls(
            redis,
            rate=settings.admit_opens_per_second,
            burst=burst,
            ticket_ttl=settings.waiting_room_ticket_seconds,
            load=load,
            follow_opens=2.0 if load is not None else 0.0,
            follow_floor=float(burst),
        )

    async def aclose(self) -> None:
        if isinstance(self.load, LoadGauge):
            await self.load.stop()

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    async def admit(
        self, user_id: int, round_id: int, idle: bool = False, alongside: Alongside | None = None
    ) -> Admission:
        """Takes (or keeps) this person's place in line; admitted or not, with their position.
        `idle`: the deciding process has nothing in flight, so the next in line goes in at once.
        `alongside`: other commands for the same round trip (see Alongside)."""
        return await self.admit_ticket(ticket_key(user_id, round_id), idle, alongside)

    async def admit_ticket(self, ticket: str, idle: bool = False, alongside: Alongside | None = None) -> Admission:
        """`admit` for any line and whoever holds `ticket` (a key under the `{wr}` hash tag): the
        password checks' line (app/accounts/login_line.py) keys it by the login typed."""
        if not self.enabled:
            if alongside is not None:
                await self._send_alongside(alongside)
            return Admission(True, 0, 0, False, 0, 0)
        health = 1.0 if self.load is None else self.load.health()
        admitted, ticket, position, new, speed = await self._run_admit(
            [self.key, ticket],
            [
                int(self.clock() * 1000),
                # Never below `min_share` of the ceiling: a host (or database) slow for reasons of
                # its own would otherwise keep the line still for good, and the round would never
                # start; the gates still keep the opens from crowding the saves.
                self.rate * max(health, self.min_share),
                self.burst * health,
                self.ticket_ttl,
                self.max_step_ms,
                self.rate,
                self.follow_opens,
                self.follow_floor,
                1 if idle else 0,
            ],
            alongside,
        )
        position = int(position)
        # The wait told is the line's measured pace (a loaded room moves slower than the ceiling).
        speed = max(float(speed), self.rate * 0.1)
        wait = math.ceil(position / speed) if position else 0
        # Come back halfway through the estimated wait (a long line polls rarely, the front every
        # second), then again with a fresh estimate: the pace can pick up, and a server left idle
        # while admitted people sleep is capacity lost. Well before the ticket would expire.
        retry = 0 if admitted else max(1, min(math.ceil(wait / 2), 20, self.ticket_ttl // 3))
        return Admission(bool(admitted), int(ticket), position, bool(new), wait, retry)

    async def _run_admit(self, keys: list, args: list, alongside: Alongside | None) -> list:
        """The admission script's reply; with `alongside`, in one round trip with its commands,
        whose check runs first."""
        if alongside is None:
            return await self._admit(keys=keys, args=args)
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in alongside.commands:
                pipe.execute_command(*command)
            pipe.execute_command("EVALSHA", self._admit.sha, len(keys), *keys, *args)
            *replies, reply = await pipe.execute(raise_on_error=False)
        _check(alongside, replies)
        if isinstance(reply, NoScriptError):
            return await self._admit(keys=keys, args=args)  # loads it (Redis restarted, or flushed its scripts)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _send_alongside(self, alongside: Alongside) -> None:
        async with self.redis.pipeline(transaction=False) as pipe:
            for command in alongside.commands:
                pipe.execute_command(*command)
            replies = await pipe.execute(raise_on_error=False)
        _check(alongside, replies)

    async def holds_ticket(self, user_id: int, round_id: int) -> bool:
        return bool(await self.redis.exists(ticket_key(user_id, round_id)))

    async def wait_turn(
        self, db: AsyncSession, user_id: int, round_id: int, idle: bool = False, alongside: Alongside | None = None
    ) -> None:
        """Returns when this person may open an attempt now; raises PleaseWait otherwise."""
        admission = await self.admit(user_id, round_id, idle, alongside)
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

    @contextlib.asynccontextmanager
    async def turn(
        self, db: AsyncSession, user_id: int, round_id: int, alongside: Alongside | None = None
    ) -> AsyncIterator[Turn]:
        """`async with room.turn(...) as turn`: around the open itself. Waits in the shared line
        (raises PleaseWait), then for a turn at this process's gate. An admitted person who waits
        too long at the gate is asked to come back in a second: the place stays theirs (their
        ticket is already within "now serving"), and no attempt exists yet, so no time is lost.
        After the open the room counts it ("opened"), in a round trip of its own unless the open
        sent `turn.opened_command()` with its own Redis writes."""
        turn = Turn(self)
        gauge = self.load if isinstance(self.load, LoadGauge) else None
        # A person arriving at a process with nothing to do is not held back by the pace: someone
        # pressing "Bắt đầu" alone, or one after another, is never queued. The claim counts as an
        # open in flight until the open reaches the gate (no await in between), so requests
        # arriving together on this process are not all idle: the others take the line's pace.
        claim = gauge if gauge is not None and self.enabled and gauge.idle() else None
        if claim is not None:
            claim.pending += 1
        try:
            await self.wait_turn(db, user_id, round_id, claim is not None, alongside)
        finally:
            if claim is not None:
                claim.pending -= 1
        if gauge is None:
            yield turn
        else:
            try:
                async with gauge.opening():
                    yield turn
            except GateTimeout:
                raise PleaseWait(Admission(False, 0, 1, False, 1, 1)) from None
        if self.counts_opens and not turn.reported:
            await self._opened(keys=[self.key], args=[int(self.clock() * 1000)])

    async def record_done(self) -> None:
        """One more admitted person served (the password line reports each hash done), so that
        the line follows what is really done; nothing when the room does not count."""
        if self.counts_opens:
            await self._opened(keys=[self.key], args=[int(self.clock() * 1000)])

    @property
    def counts_opens(self) -> bool:
        """Whether the line follows the opens really done (each open is reported to it)."""
        return self.follow_opens > 0 and self.enabled


class Turn:
    """One admitted open (`WaitingRoom.turn`)."""

    def __init__(self, room: WaitingRoom):
        self.room = room
        self.reported = False  # set by the caller once it has sent `opened_commands()` itself

    def opened_commands(self) -> tuple[tuple, ...]:
        """The room's "one more open done" as Redis commands for the open's own pipeline (the
        caller then sets `reported`, and the room sends nothing after the open); none when the
        room does not count opens."""
        if not self.room.counts_opens:
            return ()
        return (("EVAL", _OPENED, 1, self.room.key, int(self.room.clock() * 1000)),)


def _check(alongside: Alongside, replies: list) -> None:
    for reply in replies:
        if isinstance(reply, Exception):
            raise reply
    alongside.check(replies)


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
