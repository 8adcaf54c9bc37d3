"""The public leaderboard page. Rendered complete on the server (works without JavaScript);
leaderboard.js then refreshes the table from the JSON API every few seconds."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from app.accounts.sessions import Session
from app.contests.service import get_round
from app.core.deps import page_session
from app.leaderboard import service
from app.leaderboard.routes import read_context
from app.web.render import page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
REFRESH_SECONDS = 5
AROUND = 2


@router.get("/rounds/{round_id}/leaderboard")
async def leaderboard_page(round_id: int, request: Request, session: Session | None = Depends(page_session),
                           ctx: service.ReadContext = Depends(read_context)):
    round_ = await get_round(ctx.db, round_id)
    params = request.query_params
    scope = service.scope_of(params.get("unit", "")[:200], params.get("province", "")[:80])
    board = await service.board_out(ctx, round_id, scope, 0, PAGE_SIZE, session.user_id if session else None)
    standing = await service.my_standing_out(ctx, round_id, session.user_id, AROUND) if session else None
    units = await service.groups_out(ctx, round_id, "unit", 0, 300)
    provinces = await service.groups_out(ctx, round_id, "province", 0, 100)
    return page(request, "leaderboard.html", round=round_, board=board, standing=standing, units=units.groups,
                provinces=provinces.groups, refresh_seconds=REFRESH_SECONDS, around=AROUND)
