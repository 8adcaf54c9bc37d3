"""Invitation links: one per unit or commune a contest mobilizes, and who registered through each."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime

UNIT = "unit"
COMMUNE = "commune"


class Invitation(Base):
    """A link /i/<code> an organizer hands to a unit or a commune: registration through it starts
    with that unit (or province and commune) filled in, and is counted for it."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    contest_id: Mapped[int] = mapped_column(ForeignKey("contests.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # UNIT or COMMUNE
    label: Mapped[str] = mapped_column(String(200))  # what the organizer calls it: the unit or the commune
    unit: Mapped[str | None] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(80))
    commune: Mapped[str | None] = mapped_column(String(80))
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InvitationSignup(Base):
    """One registration through an invitation link (an account registers once, so at most one row)."""

    __tablename__ = "invitation_signups"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
