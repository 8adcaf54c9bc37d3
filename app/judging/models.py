"""Frozen rankings. A snapshot and its rows are written once and never changed (database
triggers refuse UPDATE and DELETE); a correction is a new version."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.attempts.models import AttemptAnswer
from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime


class RankingSnapshot(Base):
    __tablename__ = "ranking_snapshots"
    __table_args__ = (UniqueConstraint("round_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # RESTRICT: a round (or contest) whose results were frozen cannot be deleted.
    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="RESTRICT"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(20))  # close | regrade
    truth: Mapped[int | None] = mapped_column(Integer)  # T confirmed by the judge
    suggested_truth: Mapped[int | None] = mapped_column(Integer)  # T computed by the system
    note: Mapped[str] = mapped_column(Text, default="")
    row_count: Mapped[int] = mapped_column(Integer)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256, see app.judging.snapshots
    # Which canonical form the digest covers (app.judging.snapshots.CANONICAL_FORMATS): 1 for
    # snapshots frozen before migration 0005, 2 (rows as the ranking export shows them) since.
    canonical_format: Mapped[int] = mapped_column(Integer, default=2, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Plain columns, not a foreign key: deleting a staff account must not touch frozen results.
    created_by_id: Mapped[int | None] = mapped_column(Integer)
    created_by_name: Mapped[str] = mapped_column(String(120), default="")


class SnapshotRow(Base):
    __tablename__ = "ranking_snapshot_rows"

    snapshot_id: Mapped[int] = mapped_column(ForeignKey("ranking_snapshots.id", ondelete="RESTRICT"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)  # 1 = first place
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON of one ranked participant


# Re-grading and per-question statistics look answers up by question (migration 0003).
Index("ix_attempt_answers_question_id", AttemptAnswer.__table__.c.question_id)
