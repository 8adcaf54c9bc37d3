from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime


class Contest(Base):
    __tablename__ = "contests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    organizer_name: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    rules_text: Mapped[str] = mapped_column(Text, default="")  # "Thể lệ", plain text paragraphs
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    rounds: Mapped[list[Round]] = relationship(back_populates="contest", order_by="Round.open_at", lazy="raise")


class Round(Base):
    """A time window ("đợt thi"/"tuần thi") with its own attempts, ranking and prizes."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    open_at: Mapped[datetime] = mapped_column(UTCDateTime)
    close_at: Mapped[datetime] = mapped_column(UTCDateTime)
    questions_per_attempt: Mapped[int] = mapped_column(Integer, default=20)
    time_limit_seconds: Mapped[int] = mapped_column(Integer, default=15 * 60)
    attempts_allowed: Mapped[int] = mapped_column(Integer, default=2)
    # [{"topic": str|None, "difficulty": int|None, "count": int}, ...]; the rest is drawn freely.
    quotas: Mapped[list] = mapped_column(JSON, default=list)
    prediction_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    prediction_question: Mapped[str] = mapped_column(
        Text,
        default="Theo bạn, đợt thi này có bao nhiêu người trả lời đúng tất cả các câu hỏi?",
    )
    # T: participants whose counted attempt was all correct; set when the round is finalized.
    prediction_truth: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contest: Mapped[Contest] = relationship(back_populates="rounds", lazy="raise")

    def is_open(self, now: datetime) -> bool:
        return self.open_at <= now < self.close_at


class ContestUnit(Base):
    """The official list of units of a contest, for the collective ranking."""

    __tablename__ = "contest_units"
    __table_args__ = (UniqueConstraint("contest_id", "name_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200))  # accents, case and spacing ignored
    province: Mapped[str | None] = mapped_column(String(80))


class ContestLocality(Base):
    """Localities a contest covers, so that statistics also list places nobody came from."""

    __tablename__ = "contest_localities"
    __table_args__ = (UniqueConstraint("contest_id", "province", "district", "commune"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    province: Mapped[str] = mapped_column(String(80))
    district: Mapped[str] = mapped_column(String(80), default="")
    commune: Mapped[str] = mapped_column(String(80), default="")


class ContestBanner(Base):
    """The contest's banner image, kept in the database (small, validated) so every host serves it."""

    __tablename__ = "contest_banners"

    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(40))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrizePlan(Base):
    """How many prizes of each tier a round awards (nhất, nhì, ba, khuyến khích)."""

    __tablename__ = "prize_plans"

    round_id: Mapped[int] = mapped_column(ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True)
    first: Mapped[int] = mapped_column(Integer, default=1)
    second: Mapped[int] = mapped_column(Integer, default=2)
    third: Mapped[int] = mapped_column(Integer, default=3)
    consolation: Mapped[int] = mapped_column(Integer, default=10)
