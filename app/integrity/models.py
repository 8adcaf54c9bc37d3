"""Tables of prize integrity.

`account_events` holds only what the suspicious-accounts report needs: who, when, from which
address and which browser (a keyed hash of the random id the browser keeps, never the id
itself). Rows older than `SIGNAL_RETENTION_DAYS` are purged (`python -m app purge-signals`).
Nothing of it is ever shown to participants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, exists
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime

REGISTER = "register"
LOGIN = "login"


class AccountEvent(Base):
    __tablename__ = "account_events"
    __table_args__ = (Index("ix_account_events_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(10))  # register | login
    device: Mapped[str | None] = mapped_column(String(32))  # HMAC of the browser's random id (hex)
    ip: Mapped[str | None] = mapped_column(String(45))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ResultExclusion(Base):
    """An account taken out of a round's results by the jury (or when it was given a staff role
    of the contest). Never deleted: lifting it records who and why, and both steps freeze a new
    ranking version when the round is closed."""

    __tablename__ = "result_exclusions"
    __table_args__ = (Index("ix_result_exclusions_round_id_user_id", "round_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_name: Mapped[str] = mapped_column(String(120), default="")
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lifted_by_name: Mapped[str | None] = mapped_column(String(120))
    lift_reason: Mapped[str | None] = mapped_column(Text)


def excluded_from_round(attempt_table):
    """SQL condition: the attempt's owner is excluded (and not reinstated) from the attempt's round."""
    return exists().where(
        ResultExclusion.round_id == attempt_table.round_id,
        ResultExclusion.user_id == attempt_table.user_id,
        ResultExclusion.lifted_at.is_(None),
    )
