"""The citizen's side of account recovery: "Quên mật khẩu?" and "Nhập mã đặt lại" (pages only;
app.accounts.recovery has the rules)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from redis.asyncio import Redis

from app.accounts import recovery
from app.accounts.sms import load_sender
from app.accounts.throttle import login_identity
from app.core import ratelimit
from app.core.deps import DbDep, PageSessionDep, get_redis
from app.core.errors import AppError
from app.core.runtime import RuntimeDep, request_runtime
from app.web.forms import PageForm
from app.web.render import page, set_flash

router = APIRouter(include_in_schema=False)


async def _check_rate(request: Request, action: str, login: str) -> None:
    settings = request_runtime(request).settings
    await ratelimit.check(
        request,
        action,
        ip_limit=settings.rate_reset_per_ip,
        account=login_identity(login),
        account_limit=settings.rate_reset_per_account,
    )


def _sms_on(request: Request) -> bool:
    return bool(request_runtime(request).settings.sms_backend)


@router.get("/forgot")
async def forgot_form(request: Request, session: PageSessionDep):
    return page(request, "forgot.html", values={}, errors={}, sent=False, sms=_sms_on(request))


@router.post("/forgot")
async def forgot_submit(request: Request, runtime: RuntimeDep, db: DbDep, session: PageSessionDep, form: PageForm):
    login, note = str(form.get("login", ""))[:40].strip(), str(form.get("contact_note", ""))[:300]
    values = {"login": login, "contact_note": note}
    if not login:
        return page(
            request,
            "forgot.html",
            status=422,
            values=values,
            sent=False,
            sms=_sms_on(request),
            errors={"login": "Nhập số điện thoại hoặc số CCCD đã dùng khi đăng ký."},
        )
    try:
        await _check_rate(request, "reset:ask", login)
    except AppError as exc:
        return page(
            request,
            "forgot.html",
            status=exc.status,
            values=values,
            sent=False,
            sms=_sms_on(request),
            errors={"form": exc.message},
        )
    reset = await recovery.request_reset(db, login, note)
    sender = load_sender(runtime.settings)
    if reset is not None and sender is not None:
        await recovery.send_code_by_sms(db, runtime.settings, sender, reset)
    # The same answer whether or not the account exists.
    return page(request, "forgot.html", values={}, errors={}, sent=True, sms=sender is not None)


@router.get("/reset")
async def reset_form(request: Request, session: PageSessionDep):
    return page(request, "reset.html", values={"login": request.query_params.get("login", "")[:40]}, errors={})


@router.post("/reset")
async def reset_submit(
    request: Request,
    runtime: RuntimeDep,
    db: DbDep,
    session: PageSessionDep,
    form: PageForm,
    redis: Redis = Depends(get_redis),
):
    login = str(form.get("login", ""))[:40].strip()
    values = {"login": login, "code": str(form.get("code", ""))[:20]}
    password = str(form.get("password", ""))[:200]
    if password != form.get("password2"):
        return page(
            request, "reset.html", status=422, values=values, errors={"password2": "Mật khẩu nhập lại không khớp."}
        )
    try:
        await _check_rate(request, "reset:use", login)
        await recovery.redeem(db, redis, runtime.settings, login, values["code"], password)
    except AppError as exc:
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        return page(request, "reset.html", status=exc.status, values=values, errors=fields or {"form": exc.message})
    response = RedirectResponse("/login", status_code=303)
    set_flash(response, "Đã đặt mật khẩu mới. Mọi phiên đăng nhập cũ đã kết thúc; hãy đăng nhập bằng mật khẩu mới.")
    return response
