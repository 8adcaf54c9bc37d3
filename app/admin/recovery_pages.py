"""Console: password reset requests. An organizer checks the citizen's identity and issues a
one-time code, shown once on the page that issued it (never stored in clear, never in a link)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import recovery
from app.core import ratelimit
from app.core.deps import DbDep
from app.core.errors import AppError
from app.core.runtime import RuntimeDep, request_runtime
from app.staff.deps import page_staff
from app.staff.roles import StaffAccess
from app.web.forms import PageForm
from app.web.render import page, set_flash, templates

router = APIRouter(prefix="/admin/password-resets", include_in_schema=False)
ISSUES_PER_STAFF = "30/3600"


async def _render(request: Request, db: AsyncSession, actor: StaffAccess, status: int = 200, **context):
    return page(
        request,
        "admin/password_resets.html",
        status=status,
        actor=actor,
        requests=await recovery.pending_requests(db),
        ttl_minutes=request_runtime(request).settings.reset_code_ttl_seconds // 60,
        **{"issued": None, "errors": {}, "failed_id": None, "values": {}, **context},
    )


async def reset_issuer(actor: StaffAccess = Depends(page_staff)) -> StaffAccess:
    """An organizer of any contest, or an admin (app.accounts.recovery)."""
    recovery.require_issuer(actor)
    return actor


reset_issuer.permission = "issue_reset_codes"  # type: ignore[attr-defined]
Issuer = Annotated[StaffAccess, Depends(reset_issuer)]


@router.get("")
async def resets_page(request: Request, actor: Issuer, db: DbDep):
    return await _render(request, db, actor)


@router.post("/{reset_id}/issue")
async def issue(
    reset_id: int,
    request: Request,
    actor: Issuer,
    runtime: RuntimeDep,
    db: DbDep,
    form: PageForm,
):
    from app.accounts.login_pages import _DateError, _parse_date

    values = {k: str(form.get(k, ""))[:20] for k in ("citizen_id", "date_of_birth", "phone")}
    try:
        birth = _parse_date(values["date_of_birth"]) if values["date_of_birth"] else None
    except _DateError:
        birth = None
    try:
        await ratelimit.check(
            request,
            "reset:issue",
            ip_limit=runtime.settings.rate_reset_per_ip,
            account=f"staff:{actor.user_id}",
            account_limit=ISSUES_PER_STAFF,
        )
        reset, user, code = await recovery.issue_code(
            db,
            runtime.settings,
            actor,
            reset_id,
            citizen_id=values["citizen_id"],
            date_of_birth=birth,
            phone=values["phone"],
        )
    except AppError as exc:
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        return await _render(
            request,
            db,
            actor,
            status=exc.status,
            failed_id=reset_id,
            values=values,
            errors=fields or {"form": exc.message},
        )
    return await _render(
        request,
        db,
        actor,
        issued={
            "name": user.full_name,
            "code": recovery.format_code(code),
            "expires_at": reset.expires_at,
            "login": user.phone,
        },
    )


@router.post("/{reset_id}/cancel")
async def cancel(
    reset_id: int,
    request: Request,
    actor: Issuer,
    db: DbDep,
    form: PageForm,
):
    await recovery.cancel(db, actor, reset_id)
    response = RedirectResponse("/admin/password-resets", status_code=303)
    set_flash(response, "Đã hủy yêu cầu đặt lại mật khẩu.")
    return response


# The console home links here for those who may issue codes.
templates.env.globals["can_issue_resets"] = recovery.can_issue
