"""JSON API of the leaderboards. Thin: reading lives in service.py, writing in rebuild.py."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Depends, Query, Request, Response

from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.core.deps import DbDep, OptionalSessionDep, SessionDep
from app.core.errors import ErrorResponses
from app.core.runtime import RuntimeDep, request_runtime
from app.leaderboard import privacy, service
from app.leaderboard.rebuild import finalize_round, rebuild_boards
from app.leaderboard.schemas import (
    BoardOut,
    FinalizeIn,
    FinalizeOut,
    GroupsOut,
    MyStandingOut,
    NameStyle,
    RebuildOut,
    SettingsIn,
    SettingsOut,
)
from app.staff.deps import RoundCloser, RoundEditor, RoundViewer

router = APIRouter(prefix="/api/v1/rounds/{round_id}/leaderboard", tags=["leaderboard"], responses=ErrorResponses)


def board_redis(request: Request):
    """The Redis (or Redis Cluster) holding the boards: app/leaderboard/board.py, create_board_redis."""
    return request_runtime(request).board_redis


async def read_context(runtime: RuntimeDep, db: DbDep) -> service.ReadContext:
    return service.ReadContext(db, runtime.board_redis, runtime.settings.leaderboard_name_style)


@router.get(
    "",
    response_model=BoardOut,
    summary="Top of the board: whole round, or one unit, or one province (live, or final once published)",
)
async def board(
    round_id: int,
    session: OptionalSessionDep,
    unit: str | None = Query(None, max_length=200),
    province: str | None = Query(None, max_length=80),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(50, ge=1, le=200),
    ctx: service.ReadContext = Depends(read_context),
):
    view = await service.board_view(ctx, round_id, service.scope_of(unit, province), offset, limit)
    # The view's JSON is serialized once per board version; the viewer's row is marked per request.
    return Response(view.json(session.user_id if session else None), media_type="application/json")


@router.get(
    "/me",
    response_model=MyStandingOut,
    summary="My rank with a few neighbours, in the whole round, my unit and my province",
)
async def me(
    round_id: int,
    session: SessionDep,
    around: int = Query(3, ge=0, le=10),
    ctx: service.ReadContext = Depends(read_context),
):
    return await service.my_standing_out(ctx, round_id, session.user_id, around)


@router.get("/units", response_model=GroupsOut, summary="Participants per unit")
async def units(
    round_id: int,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    ctx: service.ReadContext = Depends(read_context),
):
    return await service.groups_out(ctx, round_id, "unit", offset, limit)


@router.get("/provinces", response_model=GroupsOut, summary="Participants per province")
async def provinces(
    round_id: int,
    offset: int = Query(0, ge=0),
    limit: int = Query(100, ge=1, le=1000),
    ctx: service.ReadContext = Depends(read_context),
):
    return await service.groups_out(ctx, round_id, "province", offset, limit)


@router.get("/settings", response_model=SettingsOut, summary="How names are shown (organizers and judges)")
async def read_settings(round_id: int, staff: RoundViewer, ctx: service.ReadContext = Depends(read_context)):
    style = await privacy.name_style(ctx.db, round_id, ctx.default_name_style)
    return SettingsOut(round_id=round_id, name_style=cast(NameStyle, style))


@router.put("/settings", response_model=SettingsOut, summary="Choose how names are shown (organizers)")
async def put_settings(round_id: int, body: SettingsIn, staff: RoundEditor, db: DbDep):
    style = await privacy.set_name_style(db, round_id, body.name_style)
    return SettingsOut(round_id=round_id, name_style=cast(NameStyle, style))


@router.post(
    "/finalize",
    response_model=FinalizeOut,
    summary="After the round closes: store T (entered, or computed if omitted) and publish the final board (judges)",
)
async def finalize(
    round_id: int,
    request: Request,
    staff: RoundCloser,
    body: FinalizeIn | None = None,
    deps: AttemptDeps = Depends(attempt_deps),
):
    outcome = await finalize_round(deps, board_redis(request), round_id, body.prediction_truth if body else None)
    return FinalizeOut(
        round_id=round_id,
        prediction_truth=outcome.prediction_truth,
        computed_truth=outcome.computed_truth,
        participants=outcome.participants,
    )


@router.post(
    "/rebuild", response_model=RebuildOut, summary="Rebuild the boards from the database (organizers and judges)"
)
async def rebuild(round_id: int, request: Request, staff: RoundViewer, db: DbDep):
    report = await rebuild_boards(db, board_redis(request), round_id)
    return RebuildOut(
        round_id=round_id, live_participants=report.live_participants, final_participants=report.final_participants
    )
