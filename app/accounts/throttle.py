"""Abuse limits around login and registration, shared by the API and the pages.

- login: per IP and per login (phone/CCCD), and a lock-out after repeated failures for one login.
  Unknown logins are counted and locked exactly like real ones, so neither the messages nor the
  lock-out tell whether an account exists.
- register: per IP, and per phone/CCCD being registered (probing which CCCDs are taken).
"""
from __future__ import annotations

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service
from app.accounts import validation as v
from app.accounts.models import User
from app.accounts.schemas import RegisterIn
from app.core import ratelimit
from app.core.errors import Unauthorized
from app.core.ratelimit import TooManyRequests, identity, limiter

LOCKED_MESSAGE = ("Bạn đã đăng nhập sai quá nhiều lần nên việc đăng nhập bằng số này tạm thời bị khóa. "
                  "Vui lòng thử lại sau {wait}.")


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
    settings = request.app.state.settings
    who = login_identity(login)
    await ratelimit.check(request, "login", ip_limit=settings.rate_login_per_ip, account=who,
                          account_limit=settings.rate_login_per_account)
    lim, key = limiter(request), identity(who)
    failures, ttl = await lim.peek("loginfail", key)
    if settings.login_lockout_failures and failures >= settings.login_lockout_failures:
        seconds = max(1, (ttl + 999) // 1000)
        raise TooManyRequests(ttl, "login_locked", LOCKED_MESSAGE.format(wait=ratelimit._human(seconds)))
    try:
        user = await service.authenticate(db, login, password)
    except Unauthorized:
        await lim.fail("loginfail", key, settings.login_lockout_seconds)
        raise
    await lim.reset("loginfail", key)
    return user


async def check_register(request: Request, data: RegisterIn) -> None:
    settings = request.app.state.settings
    await ratelimit.check(request, "register", ip_limit=settings.rate_register_per_ip)
    for who in {login_identity(data.citizen_id or ""), login_identity(data.phone or "")} - {""}:
        await ratelimit.limiter(request).hit("register:acct", identity(who),
                                             ratelimit.parse_limit(settings.rate_register_per_account))


async def check_open_attempt(request: Request, user_id: int) -> None:
    settings = request.app.state.settings
    await ratelimit.check(request, "open", ip_limit=settings.rate_open_attempt_per_ip, account=f"user:{user_id}",
                          account_limit=settings.rate_open_attempt_per_account)
