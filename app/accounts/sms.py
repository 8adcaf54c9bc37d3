"""Sending one-time codes by SMS, pluggable: no SMS vendor is reachable from here, so the app
ships a logging backend for development and loads a province's gateway class by name
(setting SMS_BACKEND="package.module:ClassName"; the class takes the settings and has
`async send(phone, text)`)."""

from __future__ import annotations

import importlib
import logging
from typing import Protocol

log = logging.getLogger("app.sms")


class SmsSender(Protocol):
    async def send(self, phone: str, text: str) -> None: ...


class LoggingSmsSender:
    """Development: writes the message to the log instead of sending it."""

    def __init__(self, settings=None):
        self.sent: list[tuple[str, str]] = []

    async def send(self, phone: str, text: str) -> None:
        self.sent.append((phone, text))
        log.info("SMS to %s: %s", phone, text)


def load_sender(settings) -> SmsSender | None:
    """The configured sender, or None when codes are handed out by organizers only."""
    name = (settings.sms_backend or "").strip()
    if not name:
        return None
    if name == "log":
        return LoggingSmsSender(settings)
    module_name, _, class_name = name.partition(":")
    if not class_name:
        raise ValueError(f"SMS_BACKEND must be 'log' or 'package.module:ClassName', not {name!r}")
    return getattr(importlib.import_module(module_name), class_name)(settings)
