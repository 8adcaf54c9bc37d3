"""Setting and clearing the session and CSRF cookies (shared by the API and the pages)."""
from __future__ import annotations

import secrets

from fastapi import Request, Response

from app.accounts.sessions import SESSION_COOKIE
from app.core.deps import CSRF_COOKIE


def set_login_cookies(request: Request, response: Response, token: str) -> None:
    settings = request.app.state.settings
    response.set_cookie(SESSION_COOKIE, token, max_age=settings.session_ttl_seconds, httponly=True,
                        samesite="lax", secure=settings.cookie_secure, path="/")
    # A fresh CSRF token with every login: a token planted before login is useless after it.
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=False, samesite="lax",
                        secure=settings.cookie_secure, path="/")


def clear_login_cookies(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def ensure_csrf_cookie(request: Request, response: Response) -> str:
    token = request.cookies.get(CSRF_COOKIE)
    if not token:
        token = secrets.token_urlsafe(24)
        response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="lax",
                            secure=request.app.state.settings.cookie_secure, path="/")
    return token
