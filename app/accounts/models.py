from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.db import Base, UTCDateTime


class User(Base):
    """A person who logs in: a participant (citizen) or a staff member (role != participant)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    gender: Mapped[str | None] = mapped_column(String(10))  # male | female | other
    phone: Mapped[str] = mapped_column(String(15), unique=True)  # normalized 0xxxxxxxxx
    citizen_id: Mapped[str | None] = mapped_column(String(12), unique=True)  # CCCD, 12 digits
    province: Mapped[str | None] = mapped_column(String(80))
    district: Mapped[str | None] = mapped_column(String(80))
    commune: Mapped[str | None] = mapped_column(String(80))
    unit: Mapped[str | None] = mapped_column(String(200))
    party_member: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), default="participant")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """Failed logins counted per account ("user:<id>") or per unknown login ("login:<hash>"),
    in the database so that a Redis flush does not wipe them (app.accounts.throttle)."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    wait_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PasswordReset(Base):
    """Account recovery without e-mail: a citizen's request ("Quên mật khẩu?"), then a one-time
    code an organizer issues after checking the citizen's identity (or an SMS gateway sends to the
    registered phone). Only a keyed hash of the code is stored; it is short-lived and single-use."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default="requested")  # requested|issued|used|cancelled
    contact_note: Mapped[str] = mapped_column(String(300), default="")  # how to reach the citizen
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    code_hash: Mapped[str | None] = mapped_column(String(64))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    issued_by: Mapped[int | None] = mapped_column(Integer)  # staff user id; None: sent by SMS
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
