"""FastAPI dependencies shared by routes: database session, Redis, the logged-in user, CSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.core import csrf
from app.core.errors import Unauthorized
from app.core.runtime import request_runtime
from app.core.sessions import SESSION_COOKIE, Session, load_session

CSRF_HEADER = csrf.HEADER
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request_runtime(request).sessionmaker() as session:
        yield session


def get_redis(request: Request) -> Redis:
    return request_runtime(request).redis


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


async def page_session(request: Request) -> Session | None:
    """The session from the cookie (or a bearer token). Page forms check CSRF themselves."""
    # Redis straight from the app state: a plain-`def` dependency would cost a thread-pool hop on
    # every request (FastAPI runs sync dependencies in a worker thread).
    if "session" not in request.state._state:
        token = _bearer(request) or request.cookies.get(SESSION_COOKIE)
        request.state.session = await load_session(
            request_runtime(request).redis, token, request_runtime(request).settings.session_ttl_seconds
        )
    return request.state.session


async def optional_session(request: Request, session: Session | None = Depends(page_session)) -> Session | None:
    """API flavour: a cookie-authenticated write must carry the X-CSRF-Token header."""
    if session is not None and _bearer(request) is None and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    return session


async def require_session(session: Session | None = Depends(optional_session)) -> Session:
    if session is None:
        raise Unauthorized("not_logged_in", "Bạn cần đăng nhập để tiếp tục.")
    return session


def session_token(request: Request) -> tuple[str | None, bool]:
    """(token, is_bearer) for a route that loads the session itself (the answer save reads it in
    one Redis round trip with the attempt); `api_session` then applies the usual checks."""
    bearer = _bearer(request)
    return (bearer, True) if bearer else (request.cookies.get(SESSION_COOKIE), False)


def api_session(request: Request, session: Session | None, bearer: bool) -> Session:
    """What `require_session` checks, for a session loaded by the route."""
    if session is not None and not bearer and request.method not in SAFE_METHODS:
        check_csrf(request, request.headers.get(CSRF_HEADER))
    if session is None:
        raise Unauthorized("not_logged_in", "Bạn cần đăng nhập để tiếp tục.")
    return session


# What routes declare (as Dispatch and Polar do): `db: DbDep`, `session: SessionDep`.
DbDep = Annotated[AsyncSession, Depends(get_db)]
SessionDep = Annotated[Session, Depends(require_session)]
OptionalSessionDep = Annotated[Session | None, Depends(optional_session)]
PageSessionDep = Annotated[Session | None, Depends(page_session)]


def check_csrf(request: Request, submitted: str | None) -> None:
    """A cookie-authenticated write must carry the token bound to its session (app.core.csrf)."""
    csrf.check(request, submitted)
