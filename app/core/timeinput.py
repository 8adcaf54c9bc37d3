"""Times as organizers type them: local Vietnamese time (Asia/Ho_Chi_Minh), whatever the server's
own zone. Stored in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from app.core.clock import VN_TZ

_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M", "%H:%M %d/%m/%Y")


def parse_local(raw: str | datetime) -> datetime:
    """'2026-11-23T08:00' (the browser's datetime-local) or '23/11/2026 08:00' -> aware UTC.
    A datetime with its own zone is kept as is; a naive one is read as Vietnamese time."""
    if isinstance(raw, datetime):
        value = raw
    else:
        text = " ".join(str(raw).split())
        for fmt in _FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            try:
                value = datetime.fromisoformat(text)
            except ValueError as exc:
                raise ValueError(f"“{text}” không phải thời điểm hợp lệ (ngày/tháng/năm giờ:phút).") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=VN_TZ)
    return value.astimezone(UTC)


def to_input(value: datetime | None) -> str:
    """For <input type=datetime-local>: local time without zone."""
    return value.astimezone(VN_TZ).strftime("%Y-%m-%dT%H:%M") if value else ""
