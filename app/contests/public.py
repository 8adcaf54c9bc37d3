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
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.contests.models import Contest
from app.contests.schemas import ContestOut, ContestSummary
from app.contests.service import contest_out, contest_summaries, published_contests, round_status
from app.core.clock import utcnow
from app.core.runtime import cache_of


class PublicContests:
    def __init__(self, ttl_seconds: float = 2.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_seconds
        self.clock = clock
        self._expires = 0.0
        self._contests: list[Contest] = []
        self._by_id: dict[int, Contest] = {}
        # Rendered parts of the pages that are the same for every visitor, by what they show
        # (pages.py): dropped with the list they were rendered from.
        self.rendered: dict[tuple, Any] = {}

    def _stale(self) -> bool:
        return self.ttl <= 0 or self.clock() >= self._expires

    async def refresh_with(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        """Reads the list again if it is due, in a session of its own: a page with nothing
        personal to read opens no session at all while the list is fresh."""
        if self._stale():
            async with sessions() as db:
                await self._fresh(db)

    def summaries(self) -> list[ContestSummary]:
        """The list as last read (`refresh_with` first); which round is open as of now."""
        return contest_summaries(self._contests, utcnow())

    async def _fresh(self, db: AsyncSession) -> list[Contest]:
        if self._stale():
            contests = await published_contests(db)
            # Detached with every attribute loaded (rounds included), before the rollback that
            # hands the connection back would expire them: read-only snapshots from here on.
            for contest in contests:
                for round_ in contest.rounds:
                    db.expunge(round_)
                db.expunge(contest)
            await db.rollback()
            self._contests, self._by_id = contests, {c.id: c for c in contests}
            self.rendered = {}
            self._expires = self.clock() + self.ttl
        return self._contests

    def contest(self, contest_id: int) -> tuple[ContestOut, tuple]:
        """A contest as last read (`refresh_with` first), its rounds' status as of now, and a key
        of what a page of it shows alike to everyone (the contest and each round's status): the
        ContestOut is built once per key and shared until the next read of the list."""
        found = self._by_id.get(contest_id)
        if found is None:
            contest_out(None, utcnow())  # raises NotFound
        assert found is not None
        now = utcnow()
        key = ("contest", contest_id, tuple(round_status(r, now) for r in found.rounds))
        out = self.rendered.get(key)
        if out is None:
            out = self.rendered[key] = contest_out(found, now)
        return out, key

    async def list(self, db: AsyncSession) -> list[ContestSummary]:
        return contest_summaries(await self._fresh(db), utcnow())

    async def get(self, db: AsyncSession, contest_id: int) -> ContestOut:
        await self._fresh(db)
        return contest_out(self._by_id.get(contest_id), utcnow())

    def clear(self) -> None:
        self._expires = 0.0
        self.rendered = {}


def public_contests(db: AsyncSession) -> PublicContests:
    """The app's cache (the runtime's, reached through the session: app/core/runtime.py)."""
    return cache_of(db, PublicContests)
