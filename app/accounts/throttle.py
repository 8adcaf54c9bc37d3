"""Abuse limits around login and registration, shared by the API and the pages.

- login: per IP and per login (phone/CCCD), and a growing delay after repeated failures, counted
  per account in the database (app.accounts.lockout). Unknown logins are counted and delayed
  exactly like real ones, so neither the messages nor the lock-out tell whether an account exists.
- register: per IP, and per phone/CCCD being registered (probing which CCCDs are taken).
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lockout, service
from app.accounts import validation as v
from app.accounts.models import User
from app.accounts.schemas import RegisterIn
from app.core import ratelimit
from app.core.clock import utcnow
from app.core.errors import Unauthorized
from app.core.ratelimit import TooManyRequests, client_ip, identity
from app.core.runtime import request_runtime

LOCKED_MESSAGE = (
    "Đăng nhập sai nhiều lần nên việc đăng nhập bằng số này tạm thời bị khóa trên thiết bị mới. "
    "Vui lòng thử lại sau {wait}. Trên điện thoại hoặc máy tính bạn đã đăng nhập thành công "
    "trước đây, bạn vẫn đăng nhập được bình thường."
)


def login_identity(login: str) -> str:
    """The same person typing "0912 345 678" or "+84912345678" is one login."""
    login = (login or "").strip()
    for normalize in (v.normalize_citizen_id, v.normalize_phone):
        try:
            return normalize(login)
        except v.FieldError:
            continue
    return login.lower()[:60]


async def authenticate(request: Request, db: AsyncSession, login: str, password: str) -> User:
    settings = request_runtime(request).settings
    who = login_identity(login)
    await ratelimit.check(request, "login", ip_limit=settings.rate_login_per_ip)
    # The line before anything that counts against the account or reads the database: pressing
    # again while waiting is not a try at the password, and a queued login costs one script.
    await _hashing_turn(request, who)
    user = await service.find_login(db, login)
    device = lockout.trusted_device(request, user.id) if user is not None else None
    if device is None:  # the owner's own browser is not held back by tries made elsewhere
        await ratelimit.limiter(request).hit(
            "login:acct", identity(who), ratelimit.parse_limit(settings.rate_login_per_account)
        )
    key = lockout.failure_key(user, who, device)
    now = utcnow()
    wait = await lockout.seconds_to_wait(db, key, now)
    if wait is not None and wait > 0:
        raise TooManyRequests(wait * 1000, "login_locked", LOCKED_MESSAGE.format(wait=ratelimit._human(wait)))
    await db.commit()  # no transaction (nor pooled connection) held while the hash waits its turn
    try:
        user = await service.check_password(user, password)
    except Unauthorized:
        await lockout.record_failure(db, key, settings, now)
        raise
    if wait is not None:  # failures on record: a success forgets them
        await lockout.forget_failures(db, key)
    return user


async def check_register(request: Request, data: RegisterIn) -> None:
    settings = request_runtime(request).settings
    await ratelimit.check(request, "register", ip_limit=settings.rate_register_per_ip)
    await _hashing_turn(request, "register:" + login_identity(data.phone or data.citizen_id or ""))
    for who in {login_identity(data.citizen_id or ""), login_identity(data.phone or "")} - {""}:
        await ratelimit.limiter(request).hit(
            "register:acct", identity(who), ratelimit.parse_limit(settings.rate_register_per_account)
        )


async def _hashing_turn(request: Request, who: str) -> None:
    """A burst of password checks waits in a fair line (429 with the place; app/accounts/login_line.py)."""
    line = request_runtime(request).login_line
    if line is not None:
        await line.wait_turn(who)


def open_attempt_hits(request: Request, user_id: int) -> list[tuple[str, str, ratelimit.Limit]]:
    """Opening an attempt counts per IP and per account. The account is the caller's own, so
    counting it also when the IP's limit refuses only ever holds back the caller."""
    settings = request_runtime(request).settings
    return [
        ("open:ip", identity(client_ip(request)), ratelimit.parse_limit(settings.rate_open_attempt_per_ip)),
        ("open:acct", identity(f"user:{user_id}"), ratelimit.parse_limit(settings.rate_open_attempt_per_account)),
    ]


async def check_open_attempt(request: Request, user_id: int) -> None:
    # Both counts in one round trip. The API's open sends them with its waiting-room admission
    # instead (app/attempts/routes.py), one round trip fewer.
    await ratelimit.limiter(request).hit_all(open_attempt_hits(request, user_id))
