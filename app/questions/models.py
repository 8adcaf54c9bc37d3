from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime

DIFFICULTY_LABELS = {1: "Dễ", 2: "Trung bình", 3: "Khó"}


class Question(Base):
    """One question of a contest's bank. Rows are never deleted once used: retiring a question
    stops it being drawn while past attempts keep showing it as the participant saw it."""

    __tablename__ = "questions"
    __table_args__ = (
        # A text is unique among the contest's active questions only: an edit retires the question
        # participants saw and adds its corrected copy, which may keep the same text.
        Index(
            "uq_questions_active_text",
            "contest_id",
            "text_key",
            unique=True,
            postgresql_where=text("retired = false"),
            sqlite_where=text("retired = false"),
        ),
        Index("ix_questions_contest_text_key", "contest_id", "text_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    # Normalized text (NFC, case-folded, spaces collapsed) used to detect duplicates.
    text_key: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str | None] = mapped_column(String(200))
    difficulty: Mapped[int] = mapped_column(SmallInteger, default=2)
    explanation: Mapped[str | None] = mapped_column(Text)
    # Where the fact comes from ("Nguồn" column of the template): the document and its section, or
    # an article and its address. Shown to staff (bank pages, export, item analysis), never sent
    # to participants while a round is open.
    source: Mapped[str | None] = mapped_column(Text)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Lowercase, accent-free question and options (textnorm.search_key) for the bank search.
    search_key: Mapped[str | None] = mapped_column(Text)
    # The question this one corrects (an edit of a question already used in attempts).
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("questions.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    options: Mapped[list[Option]] = relationship(
        back_populates="question",
        order_by="Option.position",
        lazy="raise",
        cascade="all, delete-orphan",
    )


class Option(Base):
    __tablename__ = "options"
    __table_args__ = (UniqueConstraint("question_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(SmallInteger)  # 0 = A in the bank file
    text: Mapped[str] = mapped_column(Text)
    is_correct: Mapped[bool] = mapped_column(Boolean, default=False)

    question: Mapped[Question] = relationship(back_populates="options", lazy="raise")


class BankImport(Base):
    """A large bank upload imported by a worker (app/questions/import_jobs.py): the record every
    app host reads to show its progress and its report, whichever host took the upload."""

    __tablename__ = "bank_imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    filename: Mapped[str] = mapped_column(String(300))
    size: Mapped[int] = mapped_column(Integer, default=0)
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    # queued -> running -> done | failed. "done" means the file was judged: imported, or refused
    # with its row errors (`ok` false, nothing written); "failed" means the job itself failed for good.
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    stage: Mapped[str] = mapped_column(String(12), default="")  # parse | write
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    added: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # ImportReport.to_json()
    error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Last sign of life from the worker running it: tells a live job from a lost one.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class BankImportFile(Base):
    """The uploaded file until its import is finished (then deleted in the same transaction):
    in the database, so the worker that imports it may run on any host."""

    __tablename__ = "bank_import_files"

    import_id: Mapped[str] = mapped_column(ForeignKey("bank_imports.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
