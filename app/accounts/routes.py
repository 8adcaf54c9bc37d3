"""JSON API for accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import lockout, service, throttle
from app.accounts.schemas import LoginIn, LoginOut, RegisterIn, UserOut
from app.core.cookies import clear_login_cookies, set_login_cookies
from app.core.deps import get_db, get_redis, optional_session, page_session, require_session
from app.core.errors import ErrorResponses, NotFound
from app.core.runtime import request_runtime
from app.core.sessions import Session, create_session, delete_session

router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=ErrorResponses)


async def start_session(request: Request, response: Response, redis: Redis, user, old: Session | None) -> str:
    """Logs `user` in. Register and login take the previous session without a CSRF check: it is
    only rotated away, and a JSON body cannot be posted cross-site without a CORS preflight."""
    if old is not None:  # rotate: never keep a session id across a login
        await delete_session(redis, old.token)
    session = await create_session(
        redis, user.id, user.role, request_runtime(request).settings.session_ttl_seconds, user.full_name
    )
    set_login_cookies(request, response, session.token)
    lockout.remember_device(request, response, user.id)
    return session.token


@router.post("/auth/register", response_model=LoginOut, status_code=201, summary="Register and log in")
async def register(
    body: RegisterIn,
    request: Request,
    response: Response,
    db: AsyncSession = Depends(get_db),
    redis: Redis = Depends(get_redis),
    old: Session | None = Depends(page_session),
):
    await throttle.check_register(request, body)
    user = await service.register(db, body)
    token = await start_session(request, response, redis, user, old)
    await request_runtime(request).account_event(request, response, db, user.id, "register", body.device_id)
    return LoginOut(user=UserOut.model_validate(user), token=token)


@router.post("/auth/login", response_model=LoginOut, summary="Log in with phone number or CCCD")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    db: AsyncSession = Depends(get_db),
    redis: Redis = Depends(get_redis),
    old: Session | None = Depends(page_session),
):
    user = await throttle.authenticate(request, db, body.login, body.password)
    token = await start_session(request, response, redis, user, old)
    await request_runtime(request).account_event(request, response, db, user.id, "login", body.device_id)
    return LoginOut(user=UserOut.model_validate(user), token=token)


@router.post("/auth/logout", status_code=204, summary="Log out (ends the server-side session)")
async def logout(
    request: Request,
    response: Response,
    redis: Redis = Depends(get_redis),
    session: Session | None = Depends(optional_session),
):
    if session is not None:
        await delete_session(redis, session.token)
    clear_login_cookies(request, response)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut, summary="The logged-in participant's profile")
async def me(session: Session = Depends(require_session), db: AsyncSession = Depends(get_db)):
    user = await service.get_user(db, session.user_id)
    if user is None:
        raise NotFound("user_not_found", "Tài khoản không còn tồn tại.")
    return UserOut.model_validate(user)
