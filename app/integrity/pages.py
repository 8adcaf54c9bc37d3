"""Console page of the suspicious-accounts report (/admin/rounds/{id}/integrity) and the forms
that exclude an account from a round's results or lift an exclusion (judges, admins)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.contests.editing import get_round_for
from app.contests.models import Contest
from app.core.deps import DbDep
from app.core.errors import AppError
from app.core.runtime import RuntimeDep
from app.integrity import exclusions
from app.integrity.models import ResultExclusion
from app.integrity.report import KIND_LABELS, WHY, build_report
from app.staff.deps import AnyStaffPage, RoundReviewerPage
from app.staff.roles import EXPORT_RESULTS, REVIEW_INTEGRITY, StaffAccess
from app.web.forms import PageForm, optional_int  # the round page's T field, same rules
from app.web.render import page

router = APIRouter(prefix="/admin", include_in_schema=False)


def _done(round_id: int, message: str, outcome) -> RedirectResponse:
    version = f" Bảng kết quả mới: lần {outcome.snapshot.version}." if outcome.snapshot else ""
    return RedirectResponse(f"/admin/rounds/{round_id}/integrity?notice={message}{version}", status_code=303)


async def _report_page(
    request: Request,
    db: AsyncSession,
    actor: StaffAccess,
    round_id: int,
    *,
    status: int = 200,
    error: str | None = None,
):
    round_ = await get_round_for(db, actor, round_id, REVIEW_INTEGRITY)
    contest = await db.get(Contest, round_.contest_id)
    report = await build_report(db, round_id)
    return page(
        request,
        "admin/integrity.html",
        status=status,
        actor=actor,
        round=round_,
        contest=contest,
        report=report,
        exclusions=await exclusions.exclusions_of(db, round_id),
        kinds=KIND_LABELS,
        why=WHY,
        error=error,
        notice=request.query_params.get("notice"),
        can_export=actor.can(EXPORT_RESULTS, round_.contest_id),
    )


@router.get("/rounds/{round_id}/integrity")
async def integrity_page(round_id: int, request: Request, actor: RoundReviewerPage, db: DbDep):
    return await _report_page(request, db, actor, round_id)


@router.post("/rounds/{round_id}/exclusions")
async def exclude(
    round_id: int,
    request: Request,
    actor: RoundReviewerPage,
    runtime: RuntimeDep,
    form: PageForm,
    deps: AttemptDeps = Depends(attempt_deps),
):
    try:
        raw_user = str(form.get("user_id", "")).strip()
        if not (raw_user.isascii() and raw_user.isdigit()) or len(raw_user) > 12:
            raise AppError("invalid_user", "Hãy chọn tài khoản cần loại.", 422)
        outcome = await exclusions.exclude(
            deps,
            runtime.board_redis,
            actor,
            round_id,
            int(raw_user),
            str(form.get("reason", ""))[:2000],
            optional_int(form.get("truth")),
        )
    except AppError as exc:
        return await _report_page(request, deps.db, actor, round_id, status=exc.status, error=exc.message)
    return _done(round_id, f"Đã loại tài khoản mã {outcome.exclusion.user_id} khỏi kết quả.", outcome)


@router.post("/exclusions/{exclusion_id}/reinstate")
async def reinstate(
    exclusion_id: int,
    request: Request,
    actor: AnyStaffPage,
    runtime: RuntimeDep,
    form: PageForm,
    deps: AttemptDeps = Depends(attempt_deps),
):
    exclusion = await deps.db.get(ResultExclusion, exclusion_id)
    if exclusion is None:
        raise AppError("exclusion_not_found", "Không tìm thấy quyết định loại tài khoản.", 404)
    round_id = exclusion.round_id
    try:
        outcome = await exclusions.reinstate(
            deps,
            runtime.board_redis,
            actor,
            exclusion_id,
            str(form.get("reason", ""))[:2000],
            optional_int(form.get("truth")),
        )
    except AppError as exc:
        return await _report_page(request, deps.db, actor, round_id, status=exc.status, error=exc.message)
    return _done(round_id, f"Đã khôi phục tài khoản mã {outcome.exclusion.user_id} vào kết quả.", outcome)
