"""The line for password checks: a login or registration burst waits its turn fairly.

Argon2 runs on a few threads per process (app/accounts/passwords.py). When logins arrive faster
than those threads hash, the overflow does not race for a free thread on every retry: each login
(keyed by the phone/CCCD typed, so the same person retrying keeps their place) takes a ticket in a
first-come-first-served line kept in Redis, the same mechanism as the waiting room for opening
attempts (app/attempts/waiting_room.py: one Lua script, shared by every worker and host). The
person is told their place and when to press again; the pages keep the form on screen with that
message, the API answers 429 with Retry-After and {position, estimated_wait_seconds}.

The pace: ADMIT_LOGINS_PER_SECOND for the whole deployment (a ceiling; 0 turns the line off) times
the deciding process's health, which is its hashing pool's fill: full threads and queue admit
nobody more; and never faster than twice the hashes the deployment really completed over the last
few seconds plus a floor (each process reports its hashes done), as the open line follows opens.
Someone arriving when nobody waits ahead, at a process with a thread free, goes straight in.
The attempts' waiting room object is handed in by the wiring (accounts sits below attempts), so
this module only knows the shape of what it calls.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from app.accounts.passwords import HashPool, pool
from app.core.clock import human_wait
from app.core.errors import AppError
from app.core.ratelimit import identity

log = logging.getLogger(__name__)

LINE_KEY = "{wr}:login"  # beside the open line, under the same hash tag (Redis Cluster: one slot)


class Admission(Protocol):
    @property
    def admitted(self) -> bool: ...

    @property
    def position(self) -> int: ...

    @property
    def estimated_wait_seconds(self) -> int: ...

    @property
    def retry_after_seconds(self) -> int: ...


class Line(Protocol):
    @property
    def enabled(self) -> bool: ...

    async def admit_ticket(self, ticket: str, idle: bool = False) -> Admission: ...

    async def record_done(self) -> None: ...


def ticket_of(who: str) -> str:
    """The place in line of the login `who` (normalized phone/CCCD); hashed as the rate limits'
    keys are: no phone numbers lie around in Redis keys."""
    return "{wr}:lt:" + identity(who)


class LoginQueued(AppError):
    status = 429

    def __init__(self, admission: Admission):
        wait = max(1, admission.estimated_wait_seconds)
        retry = max(1, admission.retry_after_seconds)
        when = human_wait(wait)
        super().__init__(
            "login_queue",
            f"Đang có rất nhiều người đăng nhập cùng lúc. Bạn đang ở vị trí số {admission.position} trong "
            f"hàng chờ (khoảng {when}). Vui lòng bấm lại sau {retry} giây: chỗ của bạn trong hàng được giữ.",
            details={
                "position": admission.position,
                "estimated_wait_seconds": wait,
                "retry_after_seconds": retry,
            },
            headers={"Retry-After": str(retry)},
        )


class HashingHealth:
    """The hashing pool's fill as the line's load signal: 1 while at most half of its threads and
    queue are taken, 0 when all are (the pool would refuse the next one anyway)."""

    def __init__(self, hashing: HashPool | None = None):
        self._hashing = hashing

    @property
    def hashing(self) -> HashPool:
        return self._hashing or pool()

    def health(self) -> float:
        taken = self.hashing.in_flight / self.hashing.limit
        return 1.0 if taken <= 0.5 else max(0.0, (1.0 - taken) * 2)

    def idle(self) -> bool:
        return self.hashing.in_flight < self.hashing.threads


class LoginLine:
    def __init__(self, line: Line, load: HashingHealth):
        self.line = line
        self.load = load
        self._reports: set[asyncio.Task] = set()

    def hash_done(self) -> None:
        """A hash finished in this process (HashPool.on_done): tell the line, without making
        the login wait for it. The line then moves no faster than twice the checks really done
        (plus a floor), so it does not run ahead of people sleeping out their Retry-After."""
        if not self.line.enabled:
            return
        task = asyncio.ensure_future(self._report())
        self._reports.add(task)
        task.add_done_callback(self._reports.discard)

    async def _report(self) -> None:
        try:
            await self.line.record_done()
        except Exception:  # noqa: BLE001 - a lost count only slows the line a little
            log.warning("password line: a hash done was not counted", exc_info=True)

    async def wait_turn(self, who: str) -> None:
        """Returns when `who` may have their password checked now; raises LoginQueued otherwise."""
        if not self.line.enabled:
            return
        admission = await self.line.admit_ticket(ticket_of(who), self.load.idle())
        if not admission.admitted:
            raise LoginQueued(admission)
