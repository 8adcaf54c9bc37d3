from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime


class LeaderboardSettings(Base):
    """How a round's boards show people, as the organizer chose. A round without a row uses the
    LEADERBOARD_NAME_STYLE setting."""

    __tablename__ = "leaderboard_settings"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    name_style: Mapped[str] = mapped_column(String(16))  # see app.leaderboard.masking.NAME_STYLES
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
