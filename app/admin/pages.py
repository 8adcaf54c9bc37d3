"""Console pages (/admin/...) for organizers, judges and admins. Thin: every rule and role check
is in the service functions; a refused action re-renders the page with the Vietnamese message."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import audit_view
from app.admin.routes import export_download, owned_job
from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.contests import editing as contest_admin
from app.contests import lists
from app.contests.editing import PRIZE_LABELS, PRIZE_TIERS
from app.contests.models import Contest, Round
from app.contests.service import round_status
from app.core.clock import to_local, utcnow
from app.core.deps import DbDep
from app.core.errors import AppError, NotFound
from app.core.runtime import RuntimeDep, request_runtime
from app.core.timeinput import to_input
from app.dashboard.service import cached_dashboard as dashboard
from app.dashboard.svg import column_chart, hbar_chart
from app.exports import jobs
from app.exports.reports import EXPORTS, export_kind
from app.judging import snapshots
from app.outreach.service import invitation_counts
from app.questions.models import Option, Question
from app.staff import accounts as staff
from app.staff.deps import (
    AdminPage,
    AnyStaffPage,
    ContestEditorPage,
    ContestViewerPage,
    RoundCloserPage,
    RoundEditorPage,
    RoundRegraderPage,
    RoundViewerPage,
)
from app.staff.roles import (
    CLOSE_ROUND,
    EDIT_BANK,
    EDIT_CONTEST,
    EXPORT_RESULTS,
    EXPORT_STATISTICS,
    REGRADE,
    REVIEW_INTEGRITY,
    VIEW_DASHBOARD,
    StaffAccess,
)
from app.web.forms import PageForm, optional_int
from app.web.render import page, set_flash, templates

router = APIRouter(prefix="/admin", include_in_schema=False)
public = APIRouter(include_in_schema=False)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _home(request: Request, db: AsyncSession, actor: StaffAccess, status: int = 200, **context):
    query = select(Contest).order_by(Contest.created_at.desc())
    if not actor.is_admin:
        query = query.where(Contest.id.in_(actor.contest_ids() or {-1}))
    contests = (await db.scalars(query)).all()
    accounts = await staff.staff_accounts(db) if actor.is_admin else []
    context = {
        "error": None,
        "notice": None,
        "contest_errors": {},
        "contest_values": {},
        "staff_errors": {},
        "staff_values": {},
        **context,
    }
    return page(request, "admin/home.html", status=status, actor=actor, contests=contests, accounts=accounts, **context)


@router.get("")
async def console_home(request: Request, actor: AnyStaffPage, db: DbDep):
    return await _home(request, db, actor)


@router.post("/contests")
async def create_contest(request: Request, actor: AdminPage, db: DbDep, form: PageForm):
    try:
        contest = await contest_admin.create_contest(db, actor, contest_admin.contest_data_from_form(form))
    except AppError as exc:
        return await _home(
            request,
            db,
            actor,
            status=exc.status,
            contest_errors=_field_errors(exc),
            contest_values={k: str(v) for k, v in form.items() if k != "csrf_token"},
        )
    response = redirect(f"/admin/contests/{contest.id}")
    set_flash(response, f"Đã tạo cuộc thi “{contest.title}”. Bước tiếp theo: tải lên ngân hàng câu hỏi và tạo đợt thi.")
    return response


@router.post("/staff")
async def create_staff(request: Request, actor: AdminPage, db: DbDep, form: PageForm):
    values = {k: str(form.get(k, "")) for k in ("phone", "full_name")}
    try:
        user = await staff.create_staff_account(
            db, actor, values["phone"], values["full_name"], str(form.get("password", ""))
        )
    except AppError as exc:
        return await _home(request, db, actor, status=exc.status, staff_errors=_field_errors(exc), staff_values=values)
    response = redirect("/admin#staff-accounts")
    set_flash(
        response,
        f"Đã tạo tài khoản cán bộ {user.full_name} ({user.phone}). "
        "Hãy phân quyền cho tài khoản này ở mục “Cán bộ” của cuộc thi.",
    )
    return response


def _field_errors(exc: AppError) -> dict:
    """Field → message of a refused form: from the error's details, else from its code
    ("invalid_phone" → phone), else the whole form."""
    fields = getattr(exc, "fields", None)
    if not fields and isinstance(exc.details, dict):
        fields = exc.details.get("fields")
    if fields:
        return dict(fields)
    if exc.code.startswith("invalid_"):
        return {exc.code[len("invalid_") :]: exc.message}
    if exc.code in ("phone_taken", "user_not_found"):
        return {"phone": exc.message}
    return {"form": exc.message}


# --- contest ------------------------------------------------------------------------------------

TABS = ("overview", "rounds", "units", "staff", "audit", "results")


async def _contest_page(
    request: Request,
    db: AsyncSession,
    actor: StaffAccess,
    contest_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    round_values: dict | None = None,
    errors: dict | None = None,
    tab: str = "overview",
    values: dict | None = None,
):
    contest = await contest_admin.get_contest_for(db, actor, contest_id, VIEW_DASHBOARD)
    rounds = (await db.scalars(select(Round).where(Round.contest_id == contest_id).order_by(Round.open_at))).all()
    total, topics, difficulties = await contest_admin.bank_counts(db, contest_id)
    now = utcnow()
    from app.contests.models import ContestBanner
    from app.judging.models import RankingSnapshot

    extra = {}
    if tab == "audit":
        params = request.query_params
        audit_filter = {"action": params.get("action", "")[:60], "actor": params.get("actor", "")[:120]}
        actions, people = await audit_view.filter_choices(db, contest_id)
        extra = dict(
            log=await audit_view.entries(db, contest_id, action=audit_filter["action"], actor=audit_filter["actor"]),
            audit_filter=audit_filter,
            audit_actions=actions,
            audit_people=people,
            timezone=request_runtime(request).settings.timezone,
        )
    if tab == "results":
        extra["closed_ids"] = set(
            (
                await db.scalars(
                    select(RankingSnapshot.round_id).where(RankingSnapshot.round_id.in_([r.id for r in rounds] or [-1]))
                )
            ).all()
        )
    banner = await db.get(ContestBanner, contest_id) if tab == "overview" else None
    return page(
        request,
        "admin/contest.html",
        status=status,
        actor=actor,
        contest=contest,
        error=error,
        notice=notice,
        banner=banner,
        tab=tab,
        values=values or {},
        errors=errors or {},
        rounds=[(r, round_status(r, now)) for r in rounds],
        bank_total=total,
        topics=sorted(topics.items()),
        difficulties=difficulties,
        units=await lists.contest_units(db, contest_id),
        staff=await staff.contest_staff(db, contest_id),
        round_values=round_values
        or {
            "questions_per_attempt": 20,
            "time_limit_minutes": 15,
            "attempts_allowed": 2,
            "prediction_enabled": True,
            **{f"prize_{t}": v for t, v in zip(PRIZE_TIERS, (1, 2, 3, 10))},
        },
        prize_labels=PRIZE_LABELS,
        can_edit=actor.can(EDIT_CONTEST, contest_id),
        can_bank=actor.can(EDIT_BANK, contest_id),
        **extra,
    )


@router.get("/contests/{contest_id}")
async def contest_console(contest_id: int, request: Request, actor: ContestViewerPage, db: DbDep):
    return await _contest_page(request, db, actor, contest_id)


@router.get("/contests/{contest_id}/audit.xlsx")
async def audit_export(contest_id: int, request: Request, actor: ContestViewerPage, db: DbDep):
    from fastapi import Response

    contest = await contest_admin.get_contest_for(db, actor, contest_id, VIEW_DASHBOARD)
    params = request.query_params
    rows = await audit_view.entries(
        db, contest_id, action=params.get("action", "")[:60], actor=params.get("actor", "")[:120], limit=5000
    )
    name = f"nhat-ky-{contest_admin.slugify(contest.title)[:50]}-{to_local(utcnow()):%Y%m%d-%H%M}.xlsx"
    return Response(
        audit_view.to_xlsx(contest.title, rows),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "cache-control": "no-store"},
    )


@router.get("/contests/{contest_id}/{tab}")
async def contest_tab(
    contest_id: int,
    tab: str,
    request: Request,
    actor: ContestViewerPage,
    db: DbDep,
):
    """One part of the contest's console per page: rounds, units, staff, audit, results."""
    if tab not in TABS[1:]:
        raise NotFound("not_found", "Không tìm thấy trang hoặc tài nguyên yêu cầu.")
    return await _contest_page(request, db, actor, contest_id, tab=tab)


def _tab_url(contest_id: int, tab: str) -> str:
    return f"/admin/contests/{contest_id}" + ("" if tab == "overview" else f"/{tab}")


async def _contest_action(
    request, db, actor, contest_id, action, success: str, tab: str = "overview", values: dict | None = None
):
    """Runs a console action; success: back to its tab with a confirmation; refusal: the same tab,
    the message next to the field, what was typed kept."""
    try:
        message = await action()
    except AppError as exc:
        errors = _field_errors(exc)
        return await _contest_page(
            request, db, actor, contest_id, status=exc.status, error=exc.message, errors=errors, tab=tab, values=values
        )
    response = redirect(_tab_url(contest_id, tab))
    set_flash(response, message or success)
    return response


@router.post("/contests/{contest_id}")
async def edit_contest(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):

    async def action():
        await contest_admin.update_contest(db, actor, contest_id, contest_admin.contest_data_from_form(form))

    return await _contest_action(request, db, actor, contest_id, action, "Đã lưu thông tin cuộc thi.")


async def _upload(form, name: str) -> bytes:
    item = form.get(name)
    if item is None or isinstance(item, str):
        raise AppError("file_required", "Hãy chọn tệp để tải lên.", 422)
    return await item.read()


@router.post("/contests/{contest_id}/units")
async def import_units(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):
    return await _import_list(request, db, actor, contest_id, form, lists.replace_units, "đơn vị")


@router.post("/contests/{contest_id}/banner")
async def upload_banner(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):
    from app.contests.banner import set_banner

    async def action():
        banner = await set_banner(db, actor, contest_id, await _upload(form, "file"))
        return f"Đã cập nhật ảnh banner ({banner.width}×{banner.height})."

    return await _contest_action(request, db, actor, contest_id, action, "")


@public.get("/contests/{contest_id}/banner")
async def banner_image(contest_id: int, db: DbDep):
    """Public: the contest pages may show it."""
    from fastapi import Response

    from app.contests.models import ContestBanner

    banner = await db.get(ContestBanner, contest_id)
    if banner is None:
        raise NotFound("banner_not_found", "Cuộc thi chưa có ảnh banner.")
    return Response(
        banner.data,
        media_type=banner.content_type,
        headers={"cache-control": "public, max-age=300", "etag": f'"{banner.sha256}"'},
    )


@router.post("/contests/{contest_id}/localities")
async def import_localities(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):
    return await _import_list(request, db, actor, contest_id, form, lists.replace_localities, "địa bàn")


async def _import_list(request, db, actor, contest_id: int, form, replace, label: str):
    """An official list from its uploaded file (all or nothing), back on the units tab."""

    async def action():
        count = await replace(db, actor, contest_id, await _upload(form, "file"))
        return f"Đã nhập danh sách {count} {label}."

    return await _contest_action(request, db, actor, contest_id, action, "", tab="units")


@router.post("/contests/{contest_id}/rounds")
async def create_round(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):
    try:
        round_ = await contest_admin.create_round(db, actor, contest_id, contest_admin.round_data_from_form(form))
    except AppError as exc:
        return await _contest_page(
            request,
            db,
            actor,
            contest_id,
            status=exc.status,
            error=exc.message,
            errors=_field_errors(exc),
            tab="rounds",
            round_values={k: str(v) for k, v in form.items() if k != "csrf_token"},
        )
    response = redirect(f"/admin/rounds/{round_.id}")
    set_flash(response, f"Đã tạo đợt thi “{round_.name}”.")
    return response


@router.post("/contests/{contest_id}/staff")
async def assign_staff(
    contest_id: int,
    request: Request,
    actor: AdminPage,
    runtime: RuntimeDep,
    form: PageForm,
    deps: AttemptDeps = Depends(attempt_deps),
):
    phone, role = str(form.get("phone", "")), str(form.get("role", ""))

    async def action():
        role_label = {"organizer": "Ban tổ chức", "judge": "Ban giám khảo"}.get(role, role)
        if form.get("override") == "1":  # someone who took part: excluded from those results (app.integrity)
            from app.integrity.staff_override import assign_with_override

            await assign_with_override(
                deps,
                runtime.board_redis,
                actor,
                contest_id,
                phone,
                role,
                str(form.get("override_reason", ""))[:2000],
            )
            return f"Đã phân quyền {role_label} và loại người này khỏi kết quả các đợt đã dự thi."
        await staff.assign_role(deps.db, actor, contest_id, phone, role)
        return f"Đã phân quyền {role_label} cho số {phone.strip()}."

    return await _contest_action(
        request, deps.db, actor, contest_id, action, "", tab="staff", values={"phone": phone, "role": role}
    )


@router.post("/contests/{contest_id}/staff/{assignment_id}/remove")
async def unassign_staff(
    contest_id: int,
    assignment_id: int,
    request: Request,
    actor: AdminPage,
    db: DbDep,
    form: PageForm,
):

    async def action():
        await staff.remove_assignment(db, actor, assignment_id, contest_id)
        return "Đã thu hồi quyền."

    return await _contest_action(request, db, actor, contest_id, action, "", tab="staff")


# --- round --------------------------------------------------------------------------------------


async def _round_page(
    request: Request,
    db: AsyncSession,
    actor: StaffAccess,
    round_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict | None = None,
    errors: dict | None = None,
):
    round_ = await contest_admin.get_round_for(db, actor, round_id, VIEW_DASHBOARD)
    contest = await db.get(Contest, round_.contest_id)
    plan = await contest_admin.prize_plan(db, round_id)
    shots = await snapshots.snapshots_of(db, round_id)
    if values is None:
        values = {
            "name": round_.name,
            "open_at": to_input(round_.open_at),
            "close_at": to_input(round_.close_at),
            "questions_per_attempt": round_.questions_per_attempt,
            "time_limit_minutes": round_.time_limit_seconds // 60,
            "attempts_allowed": round_.attempts_allowed,
            "quotas": contest_admin.quotas_text(round_.quotas),
            "prediction_enabled": round_.prediction_enabled,
            "prediction_question": round_.prediction_question,
            **{f"prize_{t}": getattr(plan, t) for t in PRIZE_TIERS},
        }
    suggested = None
    now = utcnow()
    if not shots and now > round_.close_at and actor.can(CLOSE_ROUND, round_.contest_id):
        from app.leaderboard.ranking import compute_truth

        suggested = await compute_truth(db, round_id)
    questions = []
    if shots and actor.can(REGRADE, round_.contest_id):
        rows = await db.execute(
            select(Question.id, Question.text)
            .where(Question.contest_id == round_.contest_id)
            .order_by(Question.id)
            .limit(2000)
        )
        questions = [(qid, text[:90]) for qid, text in rows]
    cid = round_.contest_id
    exports = [k for k in EXPORTS.values() if actor.can(k.permission, cid)]
    return page(
        request,
        "admin/round.html",
        status=status,
        actor=actor,
        round=round_,
        contest=contest,
        error=error,
        notice=None,
        values=values,
        errors=errors or {},
        snapshots=shots,
        status_label={"upcoming": "Sắp mở", "open": "Đang mở", "closed": "Đã đóng"}[round_status(round_, now)],
        suggested=suggested,
        questions=questions,
        exports=exports,
        prize_labels=PRIZE_LABELS,
        can_edit=actor.can(EDIT_CONTEST, cid),
        can_close=actor.can(CLOSE_ROUND, cid),
        can_regrade=actor.can(REGRADE, cid),
        closed=now > round_.close_at,
        can_results=actor.can(EXPORT_RESULTS, cid),
        can_stats=actor.can(EXPORT_STATISTICS, cid),
        can_review=actor.can(REVIEW_INTEGRITY, cid),
    )


def _round_redirect(round_id: int, message: str):
    response = redirect(f"/admin/rounds/{round_id}")
    set_flash(response, message)
    return response


@router.get("/rounds/{round_id}")
async def round_console(round_id: int, request: Request, actor: RoundViewerPage, db: DbDep):
    return await _round_page(request, db, actor, round_id)


@router.post("/rounds/{round_id}")
async def edit_round(
    round_id: int, request: Request, actor: RoundEditorPage, runtime: RuntimeDep, db: DbDep, form: PageForm
):
    try:
        await contest_admin.update_round(
            db, actor, round_id, contest_admin.round_data_from_form(form), runtime.attempt_cache
        )
    except AppError as exc:
        return await _round_page(
            request,
            db,
            actor,
            round_id,
            status=exc.status,
            error=exc.message,
            errors=getattr(exc, "fields", None),
            values={k: str(v) for k, v in form.items() if k != "csrf_token"},
        )
    return _round_redirect(round_id, "Đã lưu đợt thi.")


@router.post("/rounds/{round_id}/close")
async def close_round(
    round_id: int,
    request: Request,
    actor: RoundCloserPage,
    runtime: RuntimeDep,
    form: PageForm,
    deps: AttemptDeps = Depends(attempt_deps),
):
    try:
        if form.get("confirm") != "1":
            raise AppError("confirm_required", "Hãy đánh dấu ô xác nhận trước khi chốt kết quả.", 422)
        snapshot = await snapshots.close_round(
            deps,
            runtime.redis,
            actor,
            round_id,
            optional_int(form.get("truth")),
            str(form.get("note", ""))[:2000],
        )
    except AppError as exc:
        return await _round_page(request, deps.db, actor, round_id, status=exc.status, error=exc.message)
    return _round_redirect(
        round_id, f"Đã chốt kết quả (lần {snapshot.version}). Có thể xuất bảng xếp hạng và danh sách giải."
    )


@router.post("/rounds/{round_id}/regrade")
async def regrade(
    round_id: int,
    request: Request,
    actor: RoundRegraderPage,
    runtime: RuntimeDep,
    form: PageForm,
    deps: AttemptDeps = Depends(attempt_deps),
):
    try:
        question_id = optional_int(form.get("question_id"))
        letter = str(form.get("answer", "")).strip().upper()[:1]
        if question_id is None or letter not in "ABCDEF" or not letter:
            raise AppError("invalid_regrade", "Hãy chọn câu hỏi và đáp án đúng mới (A–F).", 422)
        option = await deps.db.scalar(
            select(Option).where(Option.question_id == question_id, Option.position == "ABCDEF".index(letter))
        )
        if option is None:
            raise AppError("invalid_option", f"Câu hỏi này không có phương án {letter}.", 422)
        outcome = await snapshots.regrade(
            deps,
            runtime.redis,
            actor,
            round_id,
            question_id,
            option.id,
            optional_int(form.get("truth")),
            str(form.get("note", ""))[:2000],
        )
    except AppError as exc:
        return await _round_page(request, deps.db, actor, round_id, status=exc.status, error=exc.message)
    others = "; ".join(
        f"{r.round_name}: {r.rescored_attempts} bài"
        + (f", bảng kết quả mới lần {r.snapshot_version}" if r.snapshot_version else ", chưa chốt")
        for r in outcome.rounds
        if r.round_id != round_id
    )
    notice = f"Đã chấm lại và chốt bảng kết quả mới (lần {outcome.version})."
    if others:
        notice += f" Các đợt khác có câu hỏi này cũng đã được chấm lại — {others}."
    return _round_redirect(round_id, notice)


# --- exports ------------------------------------------------------------------------------------


@router.post("/rounds/{round_id}/exports/{kind}")
async def start_export(
    round_id: int,
    kind: str,
    request: Request,
    actor: AnyStaffPage,
    runtime: RuntimeDep,
    db: DbDep,
    form: PageForm,
):
    round_ = await contest_admin.get_round_for(db, actor, round_id, export_kind(kind).permission)
    job_id = await jobs.start(runtime, db, kind, round_id, actor.user_id, round_.name)
    return redirect(f"/admin/exports/{job_id}")


@router.get("/exports/{job_id}")
async def export_page(job_id: str, request: Request, actor: AnyStaffPage, db: DbDep):
    job = await owned_job(request, job_id, actor, db)
    return page(request, "admin/export.html", job=job, kind=export_kind(job.kind), actor=actor)


@router.get("/exports/{job_id}/file")
async def export_file(job_id: str, request: Request, actor: AnyStaffPage, db: DbDep):
    return await export_download(request, await owned_job(request, job_id, actor, db), db)


# --- live dashboard -----------------------------------------------------------------------------


def _charts(data) -> dict:
    return {
        "per_minute": column_chart(data.per_minute, "Số bài nộp mỗi phút (30 phút gần nhất)", label_every=5),
        "by_province": hbar_chart(data.by_province, "Số người dự thi theo tỉnh/thành phố"),
        "by_unit": hbar_chart(data.by_unit, "Số người dự thi theo đơn vị"),
        "scores": column_chart([(str(s), n) for s, n in data.score_distribution], "Phân bố số câu đúng"),
    }


@router.get("/rounds/{round_id}/dashboard")
async def dashboard_page(round_id: int, request: Request, actor: RoundViewerPage, db: DbDep):
    round_ = await contest_admin.get_round_for(db, actor, round_id, VIEW_DASHBOARD)
    data = await dashboard(db, round_)
    return page(
        request,
        "admin/dashboard.html",
        round=round_,
        data=data,
        charts=_charts(data),
        actor=actor,
        invitations=await invitation_counts(db, round_.contest_id, round_.id),
    )


@router.get("/rounds/{round_id}/dashboard/live")
async def dashboard_fragment(round_id: int, request: Request, actor: RoundViewerPage, db: DbDep):
    """The dashboard's body alone, which the page's small script swaps in every few seconds."""
    round_ = await contest_admin.get_round_for(db, actor, round_id, VIEW_DASHBOARD)
    data = await dashboard(db, round_)
    html = templates.get_template("admin/_live.html").render(
        data=data, charts=_charts(data), invitations=await invitation_counts(db, round_.contest_id, round_.id)
    )
    return HTMLResponse(html, headers={"cache-control": "no-store"})
