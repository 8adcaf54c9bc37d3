"""Login lock-out: a growing delay after repeated failures, counted per account, kept in the
database, and never a way to shut the owner out of their own account.

- **Per account.** Failures count against the account the typed phone or CCCD names (one count
  whichever is typed, however it is written); a login that names no account is counted by its
  normalized form, with the same answers, so the lock-out does not tell whether an account exists.
- **Durable.** The count and the time until the next try is allowed live in `login_failures`, so
  a Redis flush or restart unlocks nothing. Written only when a login fails (and deleted by the
  next success); a login with no failures behind it reads one row by primary key.
- **A delay, not a block.** After `LOGIN_LOCKOUT_FAILURES` failures each further try must wait
  30 s, doubling with every failure, at most `LOGIN_LOCKOUT_SECONDS`; a try during the wait is
  refused (429, Retry-After) without looking at the password. Guessing stays hopeless (a few
  hundred tries a day at most) while nothing ever locks an account for good.
- **Not a weapon.** A browser where the account has logged in before holds a signed device
  cookie (HttpOnly, per account): failures typed elsewhere do not delay it, and its own failures
  are counted apart. Someone who types a citizen's phone with wrong passwords all day delays
  only new devices; the citizen's own phone logs in as usual.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import Table, case, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import LoginFailure, User
from app.core import signing
from app.core.ratelimit import identity
from app.core.runtime import request_runtime

FIRST_WAIT_SECONDS = 30
FAILURE_MEMORY = timedelta(days=1)  # a count with no new failure for a day starts over
DEVICE_COOKIE = "ttn_login"  # (app.integrity keeps its own per-browser "ttn_device" id, unsigned)
DEVICE_COOKIE_SECONDS = 400 * 86400  # the longest browsers keep a cookie


def wait_seconds(failures: int, settings) -> int:
    """How long the next try must wait after `failures` failures in a row."""
    free = settings.login_lockout_failures
    if free <= 0 or failures < free:
        return 0
    return min(settings.login_lockout_seconds, FIRST_WAIT_SECONDS * 2 ** min(failures - free, 20))


def failure_key(user: User | None, typed_identity: str, device: str | None) -> str:
    if user is None:
        return "login:" + identity(typed_identity)
    return f"user:{user.id}" + (f":device:{device}" if device else "")


async def seconds_to_wait(db: AsyncSession, key: str, now: datetime) -> int | None:
    """None when no failure is on record for `key`; else how long the next try must wait (0: no wait)."""
    row = (await db.execute(select(LoginFailure.wait_until).where(LoginFailure.key == key))).first()
    if row is None:
        return None
    if row.wait_until is None or row.wait_until <= now:
        return 0
    return max(1, int((row.wait_until - now).total_seconds() + 0.999))


async def record_failure(db: AsyncSession, key: str, settings, now: datetime) -> None:
    """Counts one failure (atomically: concurrent failures all count) and sets the next wait."""
    table: Table = LoginFailure.__table__  # type: ignore[assignment]
    if db.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    values = insert(table).values(key=key, failures=1, last_failure_at=now)
    statement = values.on_conflict_do_update(
        index_elements=[table.c.key],
        set_={
            "failures": case((table.c.last_failure_at < now - FAILURE_MEMORY, 1), else_=table.c.failures + 1),
            "last_failure_at": now,
        },
    ).returning(table.c.failures)
    failures = (await db.execute(statement)).scalar_one()
    wait = wait_seconds(failures, settings)
    await db.execute(
        update(table).where(table.c.key == key).values(wait_until=now + timedelta(seconds=wait) if wait else None)
    )
    await db.commit()


async def forget_failures(db: AsyncSession, key: str) -> None:
    table: Table = LoginFailure.__table__  # type: ignore[assignment]
    await db.execute(table.delete().where(table.c.key == key))
    await db.commit()


# --- the device cookie ------------------------------------------------------------------------


def _device_cookie(settings) -> str:
    return signing.cookie_name(settings, DEVICE_COOKIE)


def _key(request: Request) -> bytes:
    return signing.derived_key(request, "login-device")


def _sign(request: Request, user_id: int, device: str) -> str:
    return hmac.digest(_key(request), f"{user_id}.{device}".encode(), "sha256")[:18].hex()


def trusted_device(request: Request, user_id: int) -> str | None:
    """The id of this browser when the account has logged in on it before, else None."""
    raw = request.cookies.get(_device_cookie(request_runtime(request).settings), "")
    parts = raw.split(".")
    if len(parts) != 3 or parts[0] != str(user_id) or len(raw) > 120:
        return None
    if not hmac.compare_digest(parts[2], _sign(request, user_id, parts[1])):
        return None
    return parts[1]


def remember_device(request: Request, response: Response, user_id: int) -> None:
    """After a successful login: this browser is one the account's owner uses."""
    if trusted_device(request, user_id) is not None:
        return
    settings = request_runtime(request).settings
    device = secrets.token_urlsafe(9)
    response.set_cookie(
        _device_cookie(settings),
        f"{user_id}.{device}.{_sign(request, user_id, device)}",
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
