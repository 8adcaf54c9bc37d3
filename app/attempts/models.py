from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime

IN_PROGRESS = "in_progress"
SUBMITTED = "submitted"


class Attempt(Base):
    """One timed sitting. `seq` (1..attempts_allowed) is unique per participant and round, which
    is what makes "exactly one attempt opens" hold under concurrent clicks."""

    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("round_id", "user_id", "seq"),
        Index("ix_attempts_status_deadline", "status", "deadline"),
        Index("ix_attempts_round_user", "round_id", "user_id"),
        # A submitted attempt always carries its submit time (migration 0005): the ranking's
        # time and submission keys come from it.
        CheckConstraint(f"status <> '{SUBMITTED}' OR submitted_at IS NOT NULL", name="submitted_has_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(16), default=IN_PROGRESS)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    # The paper as drawn: [[question_id, [option_id, ...in the order shown]], ...]
    paper: Mapped[list] = mapped_column(JSON)
    prediction: Mapped[int | None] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    auto_submitted: Mapped[bool] = mapped_column(Boolean, default=False)
    correct: Mapped[int | None] = mapped_column(SmallInteger)
    total: Mapped[int] = mapped_column(SmallInteger)
    time_ms: Mapped[int | None] = mapped_column(Integer)


class AttemptAnswer(Base):
    """The durable record of an accepted answer; written before the API acknowledges it."""

    __tablename__ = "attempt_answers"

    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id"), primary_key=True)
    option_id: Mapped[int] = mapped_column(ForeignKey("options.id"))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
