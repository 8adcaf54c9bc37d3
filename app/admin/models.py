"""Tables of the organizer and judge consoles: who may do what, what they did, and the contest
settings that live beside the contest (units, localities, banner, prize plan)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime


class StaffAssignment(Base):
    """A per-contest role: organizer ("Ban tổ chức"), judge ("Ban giám khảo") or secretariat ("Tổ thư ký"). Admins
    (users.role == "admin") need none."""

    __tablename__ = "staff_assignments"
    __table_args__ = (UniqueConstraint("user_id", "contest_id", "role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditEntry(Base):
    """One staff action. No foreign keys on purpose: the log outlives what it talks about."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(120), default="")
    action: Mapped[str] = mapped_column(String(60))
    contest_id: Mapped[int | None] = mapped_column(Integer, index=True)
    round_id: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[str | None] = mapped_column(String(80))
    before: Mapped[dict | list | None] = mapped_column(JSON)
    after: Mapped[dict | list | None] = mapped_column(JSON)


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
