"""The organizer's choice of how names appear on a round's boards."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.service import get_round
from app.core.runtime import cache_of
from app.leaderboard.masking import INITIALS, NAME_STYLES
from app.leaderboard.models import LeaderboardSettings

_TTL_SECONDS = 10.0


class NameStyles:
    """Per process, like contests.service.RoundCache: boards are read far more often than the
    setting changes; another process sees a change within the TTL. Held by the runtime."""

    def __init__(self) -> None:
        self.items: dict[int, tuple[float, str]] = {}

    def clear(self) -> None:
        self.items.clear()


def default_style(configured: str) -> str:
    return configured if configured in NAME_STYLES else INITIALS


async def name_style(db: AsyncSession, round_id: int, default: str) -> str:
    cache = cache_of(db, NameStyles).items
    hit = cache.get(round_id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    row = await db.get(LeaderboardSettings, round_id)
    style = row.name_style if row else default_style(default)
    cache[round_id] = (time.monotonic() + _TTL_SECONDS, style)
    return style


async def set_name_style(db: AsyncSession, round_id: int, style: str) -> str:
    if style not in NAME_STYLES:
        raise ValueError(style)
    await get_round(db, round_id)
    row = await db.get(LeaderboardSettings, round_id)
    if row is None:
        db.add(LeaderboardSettings(round_id=round_id, name_style=style))
    else:
        row.name_style = style
    await db.commit()
    cache_of(db, NameStyles).items.pop(round_id, None)
    return style
