"""Keys derived from SECRET_KEY, one per purpose, and the names of cookies that carry signed
values (CSRF tokens, login-device cookies)."""

from __future__ import annotations

import hashlib

from fastapi import Request


def derived_key(request: Request, purpose: str) -> bytes:
    """sha256(purpose:SECRET_KEY), computed once per app and purpose."""
    state = request.app.state
    keys = getattr(state, "derived_keys", None)
    if keys is None:
        keys = state.derived_keys = {}
    key = keys.get(purpose)
    if key is None:
        key = keys[purpose] = hashlib.sha256(f"{purpose}:{state.settings.effective_secret_key}".encode()).digest()
    return key


def cookie_name(settings, name: str) -> str:
    """`__Host-<name>` when cookies are Secure: browsers then accept it only if this very host set
    it over HTTPS for path / (a sibling subdomain cannot plant it)."""
    return f"__Host-{name}" if settings.cookie_secure else name
