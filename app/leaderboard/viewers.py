"""Who may see the staff's button on a board page ("Dựng lại bảng xếp hạng"), without a database
read for every participant who looks at the board.

The ids of the staff and admin accounts are read at most every `ttl` seconds per process; only a
viewer among them has their access read (exactly, as before) to decide. A participant named to
staff sees the button within `ttl` seconds. Only the button depends on this: the rebuild itself
checks the viewer's access on every press (staff/deps.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.runtime import cache_of
from app.staff.accounts import ADMIN, STAFF
from app.staff.deps import StaffAccess, load_access


class StaffIds:
    def __init__(self, ttl_seconds: float = 10.0, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl_seconds
        self.clock = clock
        self._expires = 0.0
        self._ids: frozenset[int] = frozenset()

    async def get(self, db: AsyncSession) -> frozenset[int]:
        if self.clock() >= self._expires:
            found = await db.scalars(select(User.id).where(User.role.in_((STAFF, ADMIN))))
            self._ids = frozenset(found.all())
            self._expires = self.clock() + self.ttl
        return self._ids

    def clear(self) -> None:
        self._expires = 0.0


async def staff_access(db: AsyncSession, user_id: int) -> StaffAccess | None:
    """The viewer's staff access, or None for everyone else (participants: no database read)."""
    if user_id not in await cache_of(db, StaffIds).get(db):
        return None
    return await load_access(db, user_id)
