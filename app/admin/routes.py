"""JSON API of the consoles (/api/v1/admin/...): everything the console pages do. Thin: every
rule and every role check lives in the service functions, which take the caller's StaffAccess."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.contests import editing as contest_admin
from app.contests.editing import ContestData, RoundData
from app.core.deps import DbDep
from app.core.errors import ErrorResponses, NotFound
from app.core.runtime import RuntimeDep, request_runtime
from app.core.schemas import StrictIn
from app.dashboard.service import dashboard
from app.exports import jobs
from app.exports.reports import export_kind
from app.judging import snapshots
from app.staff import accounts as staff
from app.staff import audit
from app.staff.deps import (
    Admin,
    AnyStaff,
    ContestEditor,
    ContestViewer,
    RoundCloser,
    RoundEditor,
    RoundRegrader,
    RoundViewer,
)
from app.staff.roles import VIEW_DASHBOARD, StaffAccess

router = APIRouter(prefix="/api/v1/admin", tags=["consoles"], responses=ErrorResponses)

# What each call needs is in its signature (app/staff/deps.py); the services check again. An
# export's permission depends on its kind and a job's on its owner: those take any staff and
# check in the body.


class ContestIn(StrictIn):
    title: str = Field(max_length=300)
    rules_text: str = Field(default="", max_length=50_000)
    description: str = Field(default="", max_length=5_000)
    organizer_name: str | None = Field(default=None, max_length=300)
    slug: str | None = Field(default=None, max_length=80)
    published: bool = True


class QuotaIn(StrictIn):
    topic: str | None = Field(default=None, max_length=200)
    difficulty: int | None = Field(default=None, ge=1, le=3)
    count: int = Field(ge=1, le=50)


class RoundIn(StrictIn):
    name: str = Field(max_length=200)
    open_at: str | datetime = Field(description="Local time in Asia/Ho_Chi_Minh unless an offset is given")
    close_at: str | datetime
    questions_per_attempt: int = 20
    time_limit_minutes: int = 15
    attempts_allowed: int = 2
    quotas: list[QuotaIn] = Field(default_factory=list, max_length=30)
    prediction_enabled: bool = True
    prediction_question: str | None = Field(default=None, max_length=1000)
    prizes: dict[str, int] = Field(default_factory=lambda: {"first": 1, "second": 2, "third": 3, "consolation": 10})

    def data(self) -> RoundData:
        return RoundData(**{**self.model_dump(exclude={"quotas"}), "quotas": [q.model_dump() for q in self.quotas]})


class CloseIn(StrictIn):
    truth: int | None = Field(default=None, ge=0, description="T confirmed by the judge; null: the computed value")
    note: str = Field(default="", max_length=2000)


class RegradeIn(StrictIn):
    question_id: int
    correct_option_id: int
    truth: int | None = Field(default=None, ge=0)
    note: str = Field(max_length=2000)


class StaffIn(StrictIn):
    phone: str = Field(max_length=20)
    full_name: str = Field(max_length=120)
    password: str = Field(max_length=200)


class AssignIn(StrictIn):
    phone: str = Field(max_length=20)
    role: str = Field(description="organizer | judge | secretariat")


def _snapshot_out(s) -> dict:
    return {
        "id": s.id,
        "round_id": s.round_id,
        "version": s.version,
        "reason": s.reason,
        "truth": s.truth,
        "suggested_truth": s.suggested_truth,
        "participants": s.row_count,
        "digest": s.digest,
        "note": s.note,
        "created_at": s.created_at,
        "created_by": s.created_by_name,
        "canonical_format": s.canonical_format,
    }


def _round_out(r) -> dict:
    return {
        "id": r.id,
        "contest_id": r.contest_id,
        "name": r.name,
        "open_at": r.open_at,
        "close_at": r.close_at,
        "questions_per_attempt": r.questions_per_attempt,
        "time_limit_seconds": r.time_limit_seconds,
        "attempts_allowed": r.attempts_allowed,
        "quotas": r.quotas,
        "prediction_enabled": r.prediction_enabled,
        "prediction_truth": r.prediction_truth,
    }


@router.post("/contests", status_code=201, summary="Create a contest (admin)")
async def create_contest(body: ContestIn, actor: Admin, db: DbDep):
    contest = await contest_admin.create_contest(db, actor, ContestData(**body.model_dump()))
    return {"id": contest.id, "slug": contest.slug, "title": contest.title}


@router.put("/contests/{contest_id}", summary="Edit a contest (organizer)")
async def update_contest(contest_id: int, body: ContestIn, actor: ContestEditor, db: DbDep):
    contest = await contest_admin.update_contest(db, actor, contest_id, ContestData(**body.model_dump()))
    return {"id": contest.id, "slug": contest.slug, "title": contest.title}


@router.post("/contests/{contest_id}/rounds", status_code=201, summary="Create a round (organizer)")
async def create_round(contest_id: int, body: RoundIn, actor: ContestEditor, db: DbDep):
    return _round_out(await contest_admin.create_round(db, actor, contest_id, body.data()))


@router.put("/rounds/{round_id}", summary="Edit a round (organizer)")
async def update_round(
    round_id: int,
    body: RoundIn,
    request: Request,
    actor: RoundEditor,
    runtime: RuntimeDep,
    db: DbDep,
):
    return _round_out(await contest_admin.update_round(db, actor, round_id, body.data(), runtime.attempt_cache))


@router.get("/contests/{contest_id}/audit", summary="Audit log of a contest")
async def audit_log(contest_id: int, actor: ContestViewer, db: DbDep):
    return [
        {
            "id": e.id,
            "at": e.created_at,
            "actor": e.actor_name,
            "actor_id": e.actor_id,
            "action": e.action,
            "round_id": e.round_id,
            "target": e.target,
            "before": e.before,
            "after": e.after,
        }
        for e in await audit.recent(db, contest_id=contest_id)
    ]


@router.get("/rounds/{round_id}/dashboard", summary="Live figures of a round")
async def round_dashboard(round_id: int, actor: RoundViewer, db: DbDep):
    round_ = await contest_admin.get_round_for(db, actor, round_id, VIEW_DASHBOARD)
    return (await dashboard(db, round_)).as_json()


@router.post(
    "/rounds/{round_id}/close", status_code=201, summary="Close a round: confirm T, freeze the ranking (judge)"
)
async def close_round(
    round_id: int,
    body: CloseIn,
    request: Request,
    actor: RoundCloser,
    runtime: RuntimeDep,
    deps: AttemptDeps = Depends(attempt_deps),
):
    snapshot = await snapshots.close_round(deps, runtime.redis, actor, round_id, body.truth, body.note)
    return _snapshot_out(snapshot)


@router.post("/rounds/{round_id}/regrade", status_code=201, summary="Change a question's key and re-freeze (judge)")
async def regrade(
    round_id: int,
    body: RegradeIn,
    request: Request,
    actor: RoundRegrader,
    runtime: RuntimeDep,
    deps: AttemptDeps = Depends(attempt_deps),
):
    outcome = await snapshots.regrade(
        deps,
        runtime.redis,
        actor,
        round_id,
        body.question_id,
        body.correct_option_id,
        body.truth,
        body.note,
    )
    # Every round that used the question was re-scored; `rounds` says which and how.
    return _snapshot_out(outcome.snapshot) | {
        "rounds": [
            {
                "round_id": r.round_id,
                "name": r.round_name,
                "rescored_attempts": r.rescored_attempts,
                "snapshot_version": r.snapshot_version,
            }
            for r in outcome.rounds
        ]
    }


@router.get("/rounds/{round_id}/snapshots", summary="Frozen rankings of a round, newest first")
async def list_snapshots(round_id: int, actor: RoundViewer, db: DbDep):
    await contest_admin.get_round_for(db, actor, round_id, VIEW_DASHBOARD)
    return [
        _snapshot_out(s) | {"intact": await snapshots.verify(db, s)} for s in await snapshots.snapshots_of(db, round_id)
    ]


@router.post("/rounds/{round_id}/exports/{kind}", status_code=202, summary="Start an Excel export")
async def start_export(
    round_id: int,
    kind: str,
    request: Request,
    actor: AnyStaff,
    runtime: RuntimeDep,
    db: DbDep,
):
    round_ = await contest_admin.get_round_for(db, actor, round_id, export_kind(kind).permission)
    job_id = await jobs.start(runtime, db, kind, round_id, actor.user_id, round_.name)
    return {"job_id": job_id, "status_url": f"/api/v1/admin/exports/{job_id}"}


async def owned_job(request: Request, job_id: str, actor: StaffAccess, db: AsyncSession) -> jobs.ExportJob:
    job = await jobs.get(request_runtime(request), job_id, db)
    if job is None or (job.user_id != actor.user_id and not actor.is_admin):
        raise NotFound("export_not_found", "Không tìm thấy tệp xuất (tệp chỉ được giữ trong 24 giờ).")
    await contest_admin.get_round_for(db, actor, job.round_id, export_kind(job.kind).permission)
    return job


async def export_download(request: Request, job: jobs.ExportJob, db: AsyncSession) -> StreamingResponse:
    """The finished .xlsx of an export job (the page and the API serve the same file), streamed
    from the database whichever host wrote it, named after the round: an ASCII `filename` for
    old clients, the Vietnamese one as RFC 5987 `filename*`."""
    if job.status != "done":
        raise NotFound("export_not_ready", "Tệp chưa xuất xong.")
    disposition = f'attachment; filename="{job.filename}"'
    if job.display:
        disposition += f"; filename*=UTF-8''{quote(job.display, safe='')}"
    await db.commit()  # the checks are done: free the request's connection (and SQLite's lock) while streaming
    return StreamingResponse(
        jobs.stream(request_runtime(request).sessionmaker, job.id),
        headers={"Content-Disposition": disposition, "Content-Length": str(job.size)},
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@router.get("/exports/{job_id}", summary="Progress of an export")
async def export_status(job_id: str, request: Request, actor: AnyStaff, db: DbDep):
    job = await owned_job(request, job_id, actor, db)
    return {
        "status": job.status,
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "error": job.error,
        "seconds": job.seconds,
        "download_url": f"/api/v1/admin/exports/{job_id}/file" if job.status == "done" else None,
    }


@router.get("/exports/{job_id}/file", summary="Download a finished export")
async def export_file(job_id: str, request: Request, actor: AnyStaff, db: DbDep):
    return await export_download(request, await owned_job(request, job_id, actor, db), db)


@router.post("/staff", status_code=201, summary="Create a staff account (admin)")
async def create_staff(body: StaffIn, actor: Admin, db: DbDep):
    user = await staff.create_staff_account(db, actor, body.phone, body.full_name, body.password)
    return {"id": user.id, "phone": user.phone}


@router.post("/contests/{contest_id}/staff", status_code=201, summary="Give a role on a contest (admin)")
async def assign(contest_id: int, body: AssignIn, actor: Admin, db: DbDep):
    a = await staff.assign_role(db, actor, contest_id, body.phone, body.role)
    return {"id": a.id, "user_id": a.user_id, "contest_id": a.contest_id, "role": a.role}
