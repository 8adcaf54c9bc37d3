"""Where the participant pages send people: redirects, the login detour, safe `next` links.
Shared by the pages of accounts, contests and attempts."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse

from app.core.errors import AppError


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request, back: str | None = None) -> RedirectResponse:
    # `next` must be a page a GET can show: after logging in the browser follows it with a GET.
    return redirect(f"/login?next={quote(back or request.url.path, safe='/')}")


def round_anchor(contest_id: int, round_id: int) -> str:
    """The round's card on its contest page, where the start button is."""
    return f"/contests/{contest_id}#round-{round_id}"


def with_headers(response, error: AppError):
    # A refused login keeps the form on screen, with the error's headers (Retry-After on 429).
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def safe_next(value: str | None) -> str:
    # Only local paths: "next" must not become an open redirect to another site.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
