"""JSON API for accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from redis.asyncio import Redis

from app.accounts import lockout, service, throttle
from app.accounts.schemas import LoginIn, LoginOut, RegisterIn, UserOut
from app.core.cookies import clear_login_cookies, set_login_cookies
from app.core.deps import (
    DbDep,
    OptionalSessionDep,
    PageSessionDep,
    SessionDep,
    get_redis,
)
from app.core.errors import ErrorResponses, NotFound
from app.core.runtime import RuntimeDep, request_runtime
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
    runtime: RuntimeDep,
    db: DbDep,
    old: PageSessionDep,
    redis: Redis = Depends(get_redis),
):
    await throttle.check_register(request, body)
    user = await service.register(db, body)
    token = await start_session(request, response, redis, user, old)
    await runtime.account_event(request, response, db, user.id, "register", body.device_id)
    return LoginOut(user=UserOut.model_validate(user), token=token)


@router.post("/auth/login", response_model=LoginOut, summary="Log in with phone number or CCCD")
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    db: DbDep,
    old: PageSessionDep,
    redis: Redis = Depends(get_redis),
):
    user = await throttle.authenticate(request, db, body.login, body.password)
    token = await start_session(request, response, redis, user, old)
    await runtime.account_event(request, response, db, user.id, "login", body.device_id)
    return LoginOut(user=UserOut.model_validate(user), token=token)


@router.post("/auth/logout", status_code=204, summary="Log out (ends the server-side session)")
async def logout(
    request: Request,
    response: Response,
    session: OptionalSessionDep,
    redis: Redis = Depends(get_redis),
):
    if session is not None:
        await delete_session(redis, session.token)
    clear_login_cookies(request, response)
    response.status_code = 204
    return response


@router.get("/me", response_model=UserOut, summary="The logged-in participant's profile")
async def me(session: SessionDep, db: DbDep):
    user = await service.get_user(db, session.user_id)
    if user is None:
        raise NotFound("user_not_found", "Tài khoản không còn tồn tại.")
    return UserOut.model_validate(user)
