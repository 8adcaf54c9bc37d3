"""Keys derived from SECRET_KEY, one per purpose, and the names of cookies that carry signed
values (CSRF tokens, login-device cookies)."""

from __future__ import annotations

from fastapi import Request

from app.core.runtime import request_runtime


def derived_key(request: Request, purpose: str) -> bytes:
    """sha256(purpose:SECRET_KEY), computed once per app and purpose (Runtime.derived_key)."""
    return request_runtime(request).derived_key(purpose)


def cookie_name(settings, name: str) -> str:
    """`__Host-<name>` when cookies are Secure: browsers then accept it only if this very host set
    it over HTTPS for path / (a sibling subdomain cannot plant it)."""
    return f"__Host-{name}" if settings.cookie_secure else name
