"""Registration and authentication."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import validation as v
from app.accounts.models import User
from app.accounts.passwords import burn_verification_time, hash_password, verify_password
from app.accounts.schemas import RegisterIn
from app.core.clock import to_local, utcnow
from app.core.db import is_unique_violation
from app.core.errors import AppError, Invalid, Unauthorized


def validate_registration(data: RegisterIn) -> dict:
    """Returns the normalized profile, or raises Invalid listing every field problem at once."""
    problems: dict[str, str] = {}
    profile: dict = {}

    def attempt(field: str, fn, *args, **kwargs):
        try:
            profile[field] = fn(*args, **kwargs)
        except v.FieldError as exc:
            problems.setdefault(exc.field, exc.message)

    today = to_local(utcnow()).date()
    attempt("full_name", v.normalize_full_name, data.full_name)
    attempt("date_of_birth", v.check_birth_date, data.date_of_birth, today)
    attempt("gender", v.normalize_gender, data.gender)
    attempt("phone", v.normalize_phone, data.phone)
    attempt("citizen_id", v.check_citizen_id_structure, data.citizen_id)
    attempt("province", v.normalize_province, data.province)
    attempt("district", v.normalize_place, "district", data.district, required=False, label="quận/huyện")
    attempt("commune", v.normalize_place, "commune", data.commune, required=True, label="xã/phường")
    attempt("unit", v.normalize_place, "unit", data.unit, required=False, label="đơn vị")
    attempt(
        "password",
        v.check_password,
        data.password,
        phone=profile.get("phone") or data.phone,
        citizen_id=profile.get("citizen_id") or data.citizen_id,
        birth=data.date_of_birth,
        full_name=profile.get("full_name"),
    )
    if not problems.keys() & {"citizen_id", "date_of_birth", "gender"}:
        try:
            v.check_citizen_id_matches(profile["citizen_id"], profile["date_of_birth"], profile["gender"])
        except v.FieldError as exc:
            problems[exc.field] = exc.message
    if problems:
        raise Invalid(
            "invalid_profile", "Thông tin đăng ký chưa hợp lệ, vui lòng kiểm tra lại.", details={"fields": problems}
        )
    profile["party_member"] = bool(data.party_member)
    return profile


async def register(db: AsyncSession, data: RegisterIn) -> User:
    profile = validate_registration(data)
    password = profile.pop("password")
    taken = await _taken_fields(db, profile)
    if taken is None:
        await db.commit()  # no transaction (nor pooled connection) held while the hash waits its turn
        user = User(**profile, password_hash=await hash_password(password))
        db.add(user)
        try:
            await db.commit()
            return user
        except IntegrityError as exc:  # a concurrent registration with the same phone or CCCD
            await db.rollback()
            if not is_unique_violation(exc):
                raise
        taken = await _taken_fields(db, profile) or {"citizen_id": TAKEN_CITIZEN_ID}
    # A citizen must learn that their CCCD (or phone) is already registered — by them earlier, or
    # by someone else, which they must take up with the organizers. So this says an account
    # exists; what limits probing is the rate limit per address and per phone/CCCD tried
    # (throttle.check_register). Login answers alike for unknown accounts and wrong passwords.
    raise AppError("already_registered", " ".join(dict.fromkeys(taken.values())), 409, details={"fields": taken})


TAKEN_CITIZEN_ID = "Số CCCD này đã được đăng ký. Nếu là bạn, hãy đăng nhập; nếu không phải bạn, hãy báo Ban tổ chức."
TAKEN_PHONE = "Số điện thoại này đã được đăng ký. Nếu là bạn, hãy đăng nhập; nếu không, hãy dùng số khác."


async def _taken_fields(db: AsyncSession, profile: dict) -> dict[str, str] | None:
    """{field: message} for the phone and CCCD already registered, None when both are free."""
    rows = (
        await db.execute(
            select(User.phone, User.citizen_id).where(
                or_(User.phone == profile["phone"], User.citizen_id == profile["citizen_id"])
            )
        )
    ).all()
    fields = {}
    if any(citizen_id == profile["citizen_id"] for _, citizen_id in rows):
        fields["citizen_id"] = TAKEN_CITIZEN_ID
    if any(phone == profile["phone"] for phone, _ in rows):
        fields["phone"] = TAKEN_PHONE
    return fields or None


def _login_lookup(login: str):
    login = (login or "").strip()
    try:
        return User.citizen_id == v.normalize_citizen_id(login)
    except v.FieldError:
        pass
    try:
        return User.phone == v.normalize_phone(login)
    except v.FieldError:
        return None


async def find_login(db: AsyncSession, login: str) -> User | None:
    """The account a typed phone or CCCD names, if any."""
    condition = _login_lookup(login)
    return await db.scalar(select(User).where(condition)) if condition is not None else None


async def check_password(user: User | None, password: str) -> User:
    """`user` when the password is theirs; the same refusal, after the same work, for a wrong
    password and for an account that does not exist."""
    if user is None:
        await burn_verification_time(password or "")
    elif await verify_password(user.password_hash, password or ""):
        return user
    raise Unauthorized("invalid_credentials", "Số điện thoại/CCCD hoặc mật khẩu không đúng.")


async def get_user(db: AsyncSession, user_id: int) -> User | None:
    return await db.get(User, user_id)
