"""Jinja2 rendering for the Vietnamese pages."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from app.accounts.cookies import ensure_csrf_cookie
from app.core.clock import to_local
from app.core.errors import AppError

templates = Jinja2Templates(directory=Path(__file__).parent / "templates")


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


def format_minutes(seconds: int) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes} phút" + (f" {rest} giây" if rest else "")


templates.env.filters["local"] = format_local
templates.env.filters["duration"] = format_duration_ms
templates.env.filters["minutes"] = format_minutes


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """Renders a page with the CSRF token every form needs, setting its cookie if missing."""
    probe = HTMLResponse()
    token = ensure_csrf_cookie(request, probe)
    session = request.state._state.get("session")
    response = templates.TemplateResponse(request, template,
                                          {"session": session, "csrf_token": token, **context},
                                          status_code=status)
    for key, value in probe.raw_headers:
        if key == b"set-cookie":
            response.raw_headers.append((key, value))
    response.headers["cache-control"] = "no-store"
    return response


def render_error_page(request: Request, error: AppError) -> HTMLResponse:
    response = page(request, "error.html", status=error.status, error=error)
    for key, value in error.headers.items():
        response.headers[key] = value
    return response
