"""Account recovery without e-mail.

1. The citizen asks on "Quên mật khẩu?" with their phone or CCCD and how to be reached.
2. An organizer checks the citizen's identity (CCCD, birth date and phone, as the citizen tells
   them by phone or in person) in the console; when all three match the account, the console
   issues a one-time code and shows it once. With an SMS gateway configured, step 2 is automatic:
   the code goes to the registered phone.
3. The citizen enters the code with a new password; every session of the account ends.

Codes: 8 digits, a keyed hash at rest (never the code), valid `reset_code_ttl_seconds`, single use,
void after `reset_code_max_tries` wrong tries. Every step is in the audit log."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import validation as v
from app.accounts.models import PasswordReset, User
from app.accounts.passwords import hash_password
from app.accounts.service import _login_lookup
from app.core.clock import utcnow
from app.core.errors import Invalid
from app.core.sessions import end_user_sessions
from app.staff import audit
from app.staff.roles import ORGANIZER, StaffAccess, StaffForbidden

REQUESTED, ISSUED, USED, CANCELLED = "requested", "issued", "used", "cancelled"
BAD_CODE = "Mã đặt lại không đúng, đã dùng hoặc đã hết hạn. Hãy kiểm tra lại, hoặc xin Ban tổ chức cấp mã mới."


def can_issue(actor: StaffAccess) -> bool:
    """Admins, and organizers (Ban tổ chức) of any contest: a deployment serves one province."""
    return actor.is_admin or any(ORGANIZER in roles for roles in actor.roles.values())


def require_issuer(actor: StaffAccess) -> None:
    if not can_issue(actor):
        raise StaffForbidden("Chỉ Ban tổ chức hoặc quản trị hệ thống mới được cấp mã đặt lại mật khẩu.")


def _code_hash(secret: str, reset_id: int, code: str) -> str:
    return hmac.new(secret.encode(), f"{reset_id}:{code}".encode(), hashlib.sha256).hexdigest()


def new_code() -> str:
    return f"{secrets.randbelow(10**8):08d}"


def format_code(code: str) -> str:
    return f"{code[:4]} {code[4:]}"  # read aloud or typed from an SMS in two halves


async def find_user(db: AsyncSession, login: str) -> User | None:
    condition = _login_lookup(login)
    return await db.scalar(select(User).where(condition)) if condition is not None else None


async def request_reset(db: AsyncSession, login: str, contact_note: str) -> PasswordReset | None:
    """Records the citizen's request (one open request per account). None for an unknown login:
    the page says the same either way, so it does not reveal who is registered."""
    user = await find_user(db, login)
    if user is None:
        return None
    open_request = await db.scalar(
        select(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.status.in_((REQUESTED, ISSUED)))
        .order_by(PasswordReset.id.desc())
        .limit(1)
    )
    if open_request is None:
        open_request = PasswordReset(user_id=user.id, status=REQUESTED, contact_note="", failed_tries=0)
        db.add(open_request)
    open_request.contact_note = (contact_note or "").strip()[:300]
    open_request.requested_at = utcnow()
    await db.commit()
    return open_request


@dataclass
class PendingRequest:
    reset: PasswordReset
    user: User

    @property
    def phone_hint(self) -> str:
        return "•" * 7 + self.user.phone[-3:]


async def pending_requests(db: AsyncSession, limit: int = 200) -> list[PendingRequest]:
    rows = await db.execute(
        select(PasswordReset, User)
        .join(User, User.id == PasswordReset.user_id)
        .where(PasswordReset.status.in_((REQUESTED, ISSUED)))
        .order_by(PasswordReset.requested_at.desc())
        .limit(limit)
    )
    return [PendingRequest(reset, user) for reset, user in rows.all()]


def _issue(reset: PasswordReset, secret: str, ttl_seconds: int, issued_by: int | None) -> str:
    code = new_code()
    now = utcnow()
    reset.status, reset.issued_at, reset.issued_by = ISSUED, now, issued_by
    reset.expires_at, reset.failed_tries, reset.used_at = now + timedelta(seconds=ttl_seconds), 0, None
    reset.code_hash = _code_hash(secret, reset.id, code)
    return code


async def issue_code(
    db: AsyncSession,
    settings,
    actor: StaffAccess,
    reset_id: int,
    *,
    citizen_id: str,
    date_of_birth: date | None,
    phone: str,
) -> tuple[PasswordReset, User, str]:
    """After checking identity: all of CCCD, birth date and phone must match the account."""
    require_issuer(actor)
    reset = await db.get(PasswordReset, reset_id)
    if reset is None or reset.status not in (REQUESTED, ISSUED):
        raise Invalid("reset_not_open", "Yêu cầu này không còn chờ xử lý (đã dùng hoặc đã hủy).")
    user = await db.get(User, reset.user_id)
    assert user is not None  # a reset belongs to an account (foreign key)
    problems = {}
    if (citizen_id or "").replace(" ", "") != (user.citizen_id or ""):
        problems["citizen_id"] = "Số CCCD không khớp với tài khoản."
    if date_of_birth is None or date_of_birth != user.date_of_birth:
        problems["date_of_birth"] = "Ngày sinh không khớp với tài khoản."
    try:
        if v.normalize_phone(phone) != user.phone:
            problems["phone"] = "Số điện thoại không khớp với tài khoản."
    except v.FieldError:
        problems["phone"] = "Số điện thoại không khớp với tài khoản."
    if problems:
        audit.record(
            db, actor, "password_reset.verify_failed", target=f"user:{user.id}", after={"không khớp": sorted(problems)}
        )
        await db.commit()
        raise Invalid("identity_mismatch", "Thông tin xác minh không khớp: chưa cấp mã.", details={"fields": problems})
    code = _issue(reset, settings.effective_secret_key, settings.reset_code_ttl_seconds, actor.user_id)
    audit.record(
        db,
        actor,
        "password_reset.issue",
        target=f"user:{user.id}",
        after={"người dự thi": user.full_name, "hết hạn": reset.expires_at},
    )
    await db.commit()
    return reset, user, code


async def send_code_by_sms(db: AsyncSession, settings, sender, reset: PasswordReset) -> None:
    """The SMS path: the code goes only to the phone registered on the account."""
    user = await db.get(User, reset.user_id)
    assert user is not None  # a reset belongs to an account (foreign key)
    code = _issue(reset, settings.effective_secret_key, settings.reset_code_ttl_seconds, None)
    minutes = settings.reset_code_ttl_seconds // 60
    audit.record(
        db,
        None,
        "password_reset.sms",
        target=f"user:{user.id}",
        after={"người dự thi": user.full_name, "hết hạn": reset.expires_at},
    )
    await db.commit()
    await sender.send(
        user.phone,
        f"Ma dat lai mat khau Thi trac nghiem: {format_code(code)} "
        f"(hieu luc {minutes} phut). Khong dua ma nay cho bat ky ai.",
    )


async def cancel(db: AsyncSession, actor: StaffAccess, reset_id: int) -> None:
    require_issuer(actor)
    reset = await db.get(PasswordReset, reset_id)
    if reset is not None and reset.status in (REQUESTED, ISSUED):
        reset.status, reset.code_hash = CANCELLED, None
        audit.record(db, actor, "password_reset.cancel", target=f"user:{reset.user_id}")
        await db.commit()


async def redeem(db: AsyncSession, redis: Redis, settings, login: str, code: str, new_password: str) -> User:
    """Sets the new password if the code is right; ends every session of the account."""
    user = await find_user(db, login)
    reset = None
    if user is not None:
        reset = await db.scalar(
            select(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.status == ISSUED)
            .order_by(PasswordReset.issued_at.desc())
            .limit(1)
        )
    code = "".join(ch for ch in (code or "") if ch.isdigit())
    if reset is None or reset.expires_at is None or utcnow() > reset.expires_at:
        raise Invalid("bad_reset_code", BAD_CODE, details={"fields": {"code": BAD_CODE}})
    assert user is not None  # a reset was found for this account
    if not hmac.compare_digest(reset.code_hash or "", _code_hash(settings.effective_secret_key, reset.id, code)):
        reset.failed_tries += 1
        if reset.failed_tries >= settings.reset_code_max_tries:
            reset.status, reset.code_hash = CANCELLED, None  # too many guesses: void
        await db.commit()
        raise Invalid("bad_reset_code", BAD_CODE, details={"fields": {"code": BAD_CODE}})
    try:
        v.check_password(
            new_password,
            phone=user.phone,
            citizen_id=user.citizen_id,
            birth=user.date_of_birth,
            full_name=user.full_name,
        )
    except v.FieldError as exc:
        raise Invalid("weak_password", exc.message, details={"fields": {"password": exc.message}}) from exc
    user.password_hash = await hash_password(new_password)
    reset.status, reset.used_at, reset.code_hash = USED, utcnow(), None
    audit.record(db, StaffAccess(user.id, user.full_name, False), "password_reset.use", target=f"user:{user.id}")
    await db.commit()
    await end_user_sessions(redis, user.id)
    return user
