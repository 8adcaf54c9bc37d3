"""Jinja2 rendering for the Vietnamese pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.core.clock import to_local
from app.core.cookies import ensure_csrf_cookie
from app.core.errors import AppError

# The pages' templates and static files live here, whichever feature serves a page.
WEB_DIR = Path(__file__).parent
STATIC_DIR = WEB_DIR / "static"
templates = Jinja2Templates(directory=WEB_DIR / "templates")


def format_local(value: datetime | None, with_seconds: bool = False) -> str:
    if value is None:
        return ""
    return to_local(value).strftime("%H:%M:%S %d/%m/%Y" if with_seconds else "%H:%M %d/%m/%Y")


def format_duration_ms(ms: int | None) -> str:
    if ms is None:
        return ""
    minutes, rest = divmod(int(ms), 60_000)
    seconds = rest / 1000
    text = f"{seconds:.1f}".replace(".", ",") + " giây"
    return f"{minutes} phút {text}" if minutes else text


def format_number(value, decimals: int = 0) -> str:
    """Vietnamese digits: "1.234" for thousands, "12,8" for decimals."""
    if value is None:
        return ""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_minutes(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} phút" + (f" {rest} giây" if rest else "")


templates.env.filters["local"] = format_local
templates.env.filters["duration"] = format_duration_ms
templates.env.filters["minutes"] = format_minutes
templates.env.filters["num"] = format_number


def macros(template: str) -> Any:
    """A template's macros, callable from Python: a page renders its part that is the same for
    every visitor once with them, and keeps it (the template is compiled once per process)."""
    return templates.env.get_template(template).module


FLASH_COOKIE = "flash"


def set_flash(response, message: str) -> None:
    """A one-time confirmation ("Đã tạo tài khoản…") shown by the next page rendered: the
    post-redirect-get pattern, so a reload neither repeats the action nor the message."""
    response.set_cookie(FLASH_COOKIE, quote(message[:300]), max_age=120, httponly=True, samesite="lax", path="/")


@dataclass(frozen=True, slots=True)
class PageStart:
    """What every page works out before its body: the form token (its cookie set on `probe` if
    missing) and the one-time flash message (its cookie deleted on `probe`)."""

    csrf_token: str
    flash: str
    probe: HTMLResponse


def start_page(request: Request) -> PageStart:
    probe = HTMLResponse()
    token = ensure_csrf_cookie(request, probe)
    flash = unquote(request.cookies.get(FLASH_COOKIE, ""))
    if flash:
        probe.delete_cookie(FLASH_COOKIE, path="/")
    return PageStart(token, flash, probe)


def finish_page(start: PageStart, response: HTMLResponse) -> HTMLResponse:
    """`response` with the cookies `start` set and no caching: every page is someone's own."""
    for key, value in start.probe.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    response.headers["cache-control"] = "no-store"
    return response


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """Renders a page with the CSRF token every form needs, setting its cookie if missing."""
    start = start_page(request)
    session = request.state._state.get("session")
    response = templates.TemplateResponse(
        request,
        template,
        {"session": session, "csrf_token": start.csrf_token, "flash": start.flash, **context},
        status_code=status,
    )
    return finish_page(start, response)


def render_error_page(request: Request, error: AppError) -> HTMLResponse:
    response = page(request, "error.html", status=error.status, error=error)
    for key, value in error.headers.items():
        response.headers[key] = value
    return response
