"""The public leaderboard page. Rendered complete on the server (works without JavaScript);
leaderboard.js then refreshes the table from the JSON API every few seconds."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from app.contests.service import round_cache
from app.core.deps import page_session
from app.core.sessions import Session
from app.leaderboard import service
from app.leaderboard.rebuild import rebuild_boards
from app.leaderboard.routes import board_redis, read_context
from app.staff.deps import RoundViewerPage, load_access
from app.staff.roles import VIEW_DASHBOARD
from app.web.render import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
REFRESH_SECONDS = 5
AROUND = 2


@router.get("/rounds/{round_id}/leaderboard")
async def leaderboard_page(
    round_id: int,
    request: Request,
    session: Session | None = Depends(page_session),
    ctx: service.ReadContext = Depends(read_context),
):
    # The round from the per-process cache (its name and ids only; a rename shows within seconds).
    round_ = await round_cache(ctx.db).get(ctx.db, round_id)
    access = await load_access(ctx.db, session.user_id) if session else None
    await service.end_reads(ctx.db)
    params = request.query_params
    unit, province = params.get("unit", "")[:200], params.get("province", "")[:80]
    filter_error = None
    try:
        scope = service.scope_of(unit, province)
    except service.OneScopeOnly as exc:
        # Back to the same page with both choices kept and the reason next to the filter.
        scope, filter_error = service.ALL, exc.message
    board = await service.board_out(ctx, round_id, scope, 0, PAGE_SIZE, session.user_id if session else None)
    standing = await service.my_standing_out(ctx, round_id, session.user_id, AROUND) if session else None
    units = await service.groups_out(ctx, round_id, "unit", 0, 300)
    provinces = await service.groups_out(ctx, round_id, "province", 0, 100)
    can_rebuild = access is not None and access.can(VIEW_DASHBOARD, round_.contest_id)
    rebuilt = params.get("rebuilt")
    notice = (
        f"Đã dựng lại bảng xếp hạng từ cơ sở dữ liệu: {rebuilt} người dự thi."
        if rebuilt and rebuilt.isascii() and rebuilt.isdigit()
        else None
    )
    return page(
        request,
        "leaderboard.html",
        round=round_,
        board=board,
        standing=standing,
        units=units.groups,
        provinces=provinces.groups,
        refresh_seconds=REFRESH_SECONDS,
        around=AROUND,
        can_rebuild=can_rebuild,
        notice=notice,
        filter_unit=unit.strip(),
        filter_province=province.strip(),
        filter_error=filter_error,
        status=422 if filter_error else 200,
    )


@router.post("/rounds/{round_id}/leaderboard/rebuild")
async def rebuild_action(
    round_id: int,
    request: Request,
    staff: RoundViewerPage,
    ctx: service.ReadContext = Depends(read_context),
):
    """The organizers' and judges' button: rebuild this round's boards from the database."""
    report = await rebuild_boards(ctx.db, board_redis(request), round_id)
    query = urlencode({"rebuilt": report.live_participants})
    return RedirectResponse(f"/rounds/{round_id}/leaderboard?{query}", status_code=303)
