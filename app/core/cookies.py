"""Setting and clearing the session and CSRF cookies (shared by the API and the pages)."""

from __future__ import annotations

from fastapi import Request, Response

from app.core import csrf
from app.core.runtime import request_runtime
from app.core.sessions import SESSION_COOKIE


def set_login_cookies(request: Request, response: Response, token: str) -> None:
    settings = request_runtime(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_seconds,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    csrf.for_login(request, response, token)


def clear_login_cookies(request: Request, response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")
    csrf.for_logout(request, response)


def ensure_csrf_cookie(request: Request, response: Response) -> str:
    return csrf.for_page(request, response)
