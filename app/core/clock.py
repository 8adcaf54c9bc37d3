"""The server clock. Every time that matters (deadlines, time taken) comes from here."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo


def _local_zone() -> ZoneInfo:
    """The organizers' time zone (setting TIMEZONE), in which every page and export shows times."""
    from app.config import get_settings

    try:
        return ZoneInfo(get_settings().timezone)
    except (KeyError, ValueError):
        return ZoneInfo("Asia/Ho_Chi_Minh")


VN_TZ = _local_zone()


def utcnow() -> datetime:
    return datetime.now(UTC)


def truncate_ms(value: datetime) -> datetime:
    """Attempt times are kept to the millisecond, the unit of "time taken", so that every store
    (database, Redis, API) holds exactly the same instant."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def to_local(value: datetime) -> datetime:
    return value.astimezone(VN_TZ)


def ms_between(start: datetime, end: datetime) -> int:
    return int(round((end - start).total_seconds() * 1000))


def human_wait(seconds: int) -> str:
    """A wait told to people, in Vietnamese: "N giây" under a minute, else whole minutes up."""
    if seconds < 60:
        return f"{max(1, seconds)} giây"
    return f"{math.ceil(seconds / 60)} phút"
