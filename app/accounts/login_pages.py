"""The participant's account pages: register, log in, log out (password recovery: pages.py)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from redis.asyncio import Redis

from app.accounts import service as accounts
from app.accounts import throttle
from app.accounts.localities import PROVINCES
from app.accounts.register_form import check as check_registration
from app.accounts.routes import start_session
from app.core.cookies import clear_login_cookies
from app.core.deps import DbDep, PageSessionDep, get_redis
from app.core.errors import AppError
from app.core.runtime import RuntimeDep
from app.core.sessions import delete_session
from app.web.forms import PageForm
from app.web.links import redirect, safe_next, with_headers
from app.web.render import page, set_flash

router = APIRouter(include_in_schema=False)


@router.get("/register")
async def register_form(request: Request, session: PageSessionDep):
    return page(
        request,
        "register.html",
        provinces=PROVINCES,
        values={},
        errors={},
        next=safe_next(request.query_params.get("next")),
    )


@router.post("/register")
async def register_submit(
    request: Request,
    runtime: RuntimeDep,
    db: DbDep,
    session: PageSessionDep,
    form: PageForm,
    redis: Redis = Depends(get_redis),
):
    values = {k: str(v) for k, v in form.items() if k not in ("password", "password2", "csrf_token", "device_id")}
    data, errors = await check_registration(request, db, form, values)  # every problem at once
    if errors:
        return page(request, "register.html", status=422, provinces=PROVINCES, values=values, errors=errors)
    try:
        await throttle.check_register(request, data)
        user = await accounts.register(db, data)
    except AppError as exc:
        return with_headers(
            page(
                request,
                "register.html",
                status=exc.status,
                provinces=PROVINCES,
                values=values,
                errors={"form": exc.message},
            ),
            exc,
        )
    response = redirect(safe_next(request.query_params.get("next")))
    await start_session(request, response, redis, user, session)
    await runtime.account_event(request, response, db, user.id, "register", form.get("device_id"))  # type: ignore[arg-type]
    set_flash(response, f"Đăng ký thành công. Chào mừng {user.full_name}! Bạn đã được đăng nhập.")
    return response


class _DateError(ValueError):
    pass


def _parse_date(raw: str) -> date:
    raw = raw.strip()
    try:
        if "/" in raw:  # dd/mm/yyyy, as Vietnamese people write dates
            day, month, year = (int(x) for x in raw.split("/"))
            return date(year, month, day)
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise _DateError from exc


@router.get("/login")
async def login_form(request: Request, session: PageSessionDep):
    return page(request, "login.html", next=safe_next(request.query_params.get("next")), error=None, login="")


@router.post("/login")
async def login_submit(
    request: Request,
    runtime: RuntimeDep,
    db: DbDep,
    session: PageSessionDep,
    form: PageForm,
    redis: Redis = Depends(get_redis),
):
    login = str(form.get("login", ""))[:40]
    target = safe_next(str(form.get("next", "/")))
    try:
        user = await throttle.authenticate(request, db, login, str(form.get("password", ""))[:200])
    except AppError as exc:
        return with_headers(
            page(request, "login.html", status=exc.status, next=target, error=exc.message, login=login), exc
        )
    response = redirect(target)
    await start_session(request, response, redis, user, session)
    await runtime.account_event(request, response, db, user.id, "login", form.get("device_id"))  # type: ignore[arg-type]
    return response


@router.post("/logout")
async def logout(request: Request, session: PageSessionDep, form: PageForm, redis: Redis = Depends(get_redis)):
    if session is not None:
        await delete_session(redis, session.token)
    response = redirect("/")
    clear_login_cookies(request, response)
    return response
