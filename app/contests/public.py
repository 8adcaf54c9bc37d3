"""The published contests as every visitor sees them, kept a moment in process memory.

The home page and each contest page showed the same list to everyone, at the price of a
transaction and an ORM load of every contest and round per view (70 % of the home page's CPU in
`make bench-steps`). Here the published contests and their rounds are read at most once per
`ttl` seconds per process; what depends on the hour (which round is open, each round's status,
hence the start button) is still worked out at every view from the cached times, so a round
opens on the page at its minute. An organizer's edit shows within `ttl` seconds (PUBLIC_PAGES_
CACHE_SECONDS, default 2; 0 turns the cache off). One instance per app, held with the other
per-process caches in the runtime (`Caches.public_contests`), never module-level state."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import Contest
from app.contests.schemas import ContestOut, ContestSummary
from app.contests.service import contest_out, contest_summaries, published_contests
from app.core.clock import utcnow
from app.core.runtime import cache_of


class PublicContests:
    def __init__(self, ttl_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_seconds
        self.clock = clock
        self._expires = 0.0
        self._contests: list[Contest] = []
        self._by_id: dict[int, Contest] = {}

    async def _fresh(self, db: AsyncSession) -> list[Contest]:
        if self.ttl <= 0 or self.clock() >= self._expires:
            contests = await published_contests(db)
            # Detached with every attribute loaded (rounds included), before the rollback that
            # hands the connection back would expire them: read-only snapshots from here on.
            for contest in contests:
                for round_ in contest.rounds:
                    db.expunge(round_)
                db.expunge(contest)
            await db.rollback()
            self._contests, self._by_id = contests, {c.id: c for c in contests}
            self._expires = self.clock() + self.ttl
        return self._contests

    async def list(self, db: AsyncSession) -> list[ContestSummary]:
        return contest_summaries(await self._fresh(db), utcnow())

    async def get(self, db: AsyncSession, contest_id: int) -> ContestOut:
        await self._fresh(db)
        return contest_out(self._by_id.get(contest_id), utcnow())

    def clear(self) -> None:
        self._expires = 0.0


def public_contests(db: AsyncSession) -> PublicContests:
    """The app's cache (the runtime's, reached through the session: app/core/runtime.py)."""
    return cache_of(db, PublicContests)
