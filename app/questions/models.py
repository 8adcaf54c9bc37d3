from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint, text
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
