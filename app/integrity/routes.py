"""JSON API of prize integrity (/api/v1/admin/...), for judges and admins. Thin: the rules are
in app.integrity.exclusions, .report and .conflicts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.contests.editing import get_round_for
from app.core.deps import DbDep
from app.core.errors import ErrorResponses
from app.core.runtime import RuntimeDep
from app.integrity import exclusions, staff_override
from app.integrity.report import build_report, report_json
from app.staff.deps import Admin, AnyStaff, RoundReviewer
from app.staff.roles import REVIEW_INTEGRITY

router = APIRouter(prefix="/api/v1/admin", tags=["consoles"], responses=ErrorResponses)


class ExcludeIn(BaseModel):
    user_id: int
    reason: str = Field(max_length=2000)
    truth: int | None = Field(default=None, ge=0, description="T for the new ranking version; null: recomputed")


class ReinstateIn(BaseModel):
    reason: str = Field(max_length=2000)
    truth: int | None = Field(default=None, ge=0)


class AssignOverrideIn(BaseModel):
    phone: str = Field(max_length=20)
    role: str = Field(description="organizer | judge | secretariat")
    reason: str = Field(max_length=2000, description="Why the person is given the role although they took part")


def exclusion_out(outcome) -> dict:
    e, s = outcome.exclusion, outcome.snapshot
    return {
        "id": e.id,
        "round_id": e.round_id,
        "user_id": e.user_id,
        "reason": e.reason,
        "created_at": e.created_at,
        "created_by": e.created_by_name,
        "lifted_at": e.lifted_at,
        "lift_reason": e.lift_reason,
        "snapshot": None
        if s is None
        else {"id": s.id, "version": s.version, "digest": s.digest, "truth": s.truth, "participants": s.row_count},
    }


@router.get("/rounds/{round_id}/suspicious-accounts", summary="Suspicious-accounts report of a round (judge)")
async def suspicious_accounts(round_id: int, actor: RoundReviewer, db: DbDep):
    await get_round_for(db, actor, round_id, REVIEW_INTEGRITY)
    return report_json(await build_report(db, round_id))


@router.get("/rounds/{round_id}/exclusions", summary="Accounts excluded from a round's results")
async def list_exclusions(round_id: int, actor: RoundReviewer, db: DbDep):
    await get_round_for(db, actor, round_id, REVIEW_INTEGRITY)
    return [
        {
            "id": e.id,
            "user_id": u.id,
            "full_name": u.full_name,
            "reason": e.reason,
            "created_at": e.created_at,
            "created_by": e.created_by_name,
            "lifted_at": e.lifted_at,
            "lift_reason": e.lift_reason,
        }
        for e, u in await exclusions.exclusions_of(db, round_id)
    ]


@router.post(
    "/rounds/{round_id}/exclusions",
    status_code=201,
    summary="Exclude an account from a round's results (judge): audited, new ranking version if closed",
)
async def exclude(
    round_id: int,
    body: ExcludeIn,
    request: Request,
    actor: RoundReviewer,
    runtime: RuntimeDep,
    deps: AttemptDeps = Depends(attempt_deps),
):
    outcome = await exclusions.exclude(
        deps, runtime.board_redis, actor, round_id, body.user_id, body.reason, body.truth
    )
    return exclusion_out(outcome)


@router.post("/exclusions/{exclusion_id}/reinstate", summary="Lift an exclusion (judge): audited, new ranking version")
async def reinstate(
    exclusion_id: int,
    body: ReinstateIn,
    request: Request,
    actor: AnyStaff,
    runtime: RuntimeDep,
    deps: AttemptDeps = Depends(attempt_deps),
):
    outcome = await exclusions.reinstate(deps, runtime.board_redis, actor, exclusion_id, body.reason, body.truth)
    return exclusion_out(outcome)


@router.post(
    "/contests/{contest_id}/staff/override",
    status_code=201,
    summary="Give a contest role to someone who took part, excluding them from those results (admin)",
)
async def assign_override(
    contest_id: int,
    body: AssignOverrideIn,
    request: Request,
    actor: Admin,
    runtime: RuntimeDep,
    deps: AttemptDeps = Depends(attempt_deps),
):
    a = await staff_override.assign_with_override(
        deps, runtime.board_redis, actor, contest_id, body.phone, body.role, body.reason
    )
    return {"id": a.id, "user_id": a.user_id, "contest_id": a.contest_id, "role": a.role}
