"""How names appear on a round's public boards: the masking styles, the organizer's choice per
round (stored, cached a few seconds) and reading or changing it."""

from __future__ import annotations

import time
import unicodedata
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from app.contests.service import get_round
from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime
from app.core.runtime import cache_of

# --- how a name is shown -----------------------------------------------------------------------------------
# Showing names on public boards without exposing people more than the organizer wants.


INITIALS = "initials"  # "Nguyễn Văn An" -> "Nguyễn V. A."
FULL = "full"  # "Nguyễn Văn An"
HIDDEN = "hidden"  # "Ẩn danh": rank, unit and province only
NAME_STYLES = (INITIALS, FULL, HIDDEN)
HIDDEN_NAME = "Ẩn danh"


def _capitalized(word: str) -> str:
    return word[:1].upper() + word[1:]


def mask_name(full_name: str, style: str) -> str:
    # NFC first: a name typed on some keyboards arrives decomposed, and its "first letter"
    # would then be a bare base letter without its diacritics.
    words = unicodedata.normalize("NFC", full_name or "").split()
    if style == HIDDEN or not words:
        return HIDDEN_NAME
    if style == FULL:
        return " ".join(words)
    # Vietnamese names run family name first, given name last: keep the family name, which
    # hundreds of thousands share, and reduce the rest to initials.
    if len(words) == 1:
        return _capitalized(words[0])[:1] + "."
    return " ".join([_capitalized(words[0])] + [_capitalized(w)[:1] + "." for w in words[1:]])


# --- the organizer's choice, stored per round ------------------------------------------------------------------------------------


class LeaderboardSettings(Base):
    """How a round's boards show people, as the organizer chose. A round without a row uses the
    LEADERBOARD_NAME_STYLE setting."""

    __tablename__ = "leaderboard_settings"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    name_style: Mapped[str] = mapped_column(String(16))  # see NAME_STYLES above
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- reading and changing it --------------------------------------------------------------------


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
