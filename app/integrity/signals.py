"""What a registration or login leaves behind for the suspicious-accounts report: the browser's
random id and the client's address, with the time.

The device id is a random string the browser keeps in localStorage (static/device.js puts it in
a hidden form field) and in a long-lived HttpOnly cookie (set here), so clearing one of the two
still links the accounts; API clients may send it as `device_id` or the `X-Device-Id` header.
Only a keyed hash of it is stored (HMAC-SHA256 with SECRET_KEY, 128 bits): equal ids stay equal,
the id itself cannot be read back. Nothing here is shown to participants or written to logs."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from datetime import datetime, timedelta

from fastapi import Request, Response
from sqlalchemy import delete
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utcnow
from app.core.ratelimit import client_ip
from app.core.runtime import request_runtime
from app.integrity.models import AccountEvent

log = logging.getLogger("app.integrity")

DEVICE_COOKIE = "ttn_device"
DEVICE_HEADER = "x-device-id"
DEVICE_COOKIE_SECONDS = 2 * 365 * 24 * 3600
_DEVICE_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def valid_device_id(value) -> str | None:
    value = str(value or "").strip()
    return value if _DEVICE_ID.match(value) else None


def device_hash(secret: str, device_id: str) -> str:
    return hmac.new(secret.encode(), b"device:" + device_id.encode(), hashlib.sha256).hexdigest()[:32]


def claimed_devices(request: Request, sent: str | None) -> tuple[list[str], str]:
    """(every device id this request carries, the one the browser should keep): the id the page
    or client sent, and the cookie's when it differs; a fresh one when there is none."""
    ids = [
        d
        for d in (
            valid_device_id(sent),
            valid_device_id(request.headers.get(DEVICE_HEADER)),
            valid_device_id(request.cookies.get(DEVICE_COOKIE)),
        )
        if d
    ]
    ids = list(dict.fromkeys(ids))
    if not ids:
        ids = [secrets.token_urlsafe(16)]
    return ids, ids[0]


async def record_event(
    request: Request, response: Response, db: AsyncSession, user_id: int, kind: str, sent_device: str | None = None
) -> None:
    """Stores one event per device id the request carries (never fails the login it belongs to:
    a lost event is a weaker report, a refused login is a participant locked out)."""
    ids, keep = claimed_devices(request, sent_device)
    settings = request_runtime(request).settings
    response.set_cookie(
        DEVICE_COOKIE,
        keep,
        max_age=DEVICE_COOKIE_SECONDS,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    secret = settings.effective_secret_key
    now = utcnow()
    ip = client_ip(request)[:45]
    try:
        db.add_all(
            [
                AccountEvent(user_id=user_id, kind=kind, device=device_hash(secret, d), ip=ip, created_at=now)
                for d in ids
            ]
        )
        await db.commit()
    except SQLAlchemyError:
        await db.rollback()
        log.warning("account event of user %s not recorded", user_id, exc_info=True)


async def purge_events(db: AsyncSession, retention_days: int, now: datetime | None = None) -> int:
    """Deletes events older than the retention period; returns how many."""
    cutoff = (now or utcnow()) - timedelta(days=retention_days)
    result = await db.execute(delete(AccountEvent).where(AccountEvent.created_at < cutoff))
    await db.commit()
    return result.rowcount or 0  # type: ignore[attr-defined]  # a DELETE's CursorResult
