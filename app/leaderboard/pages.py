"""The public leaderboard page. Rendered complete on the server (works without JavaScript);
leaderboard.js then refreshes the table from the JSON API every few seconds. The part everyone
sees alike (the top rows, the filter form) comes from fragments.py; the viewer's standing and
their row's highlight are rendered per request."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from markupsafe import Markup

from app.contests.models import Round
from app.contests.pages import public_base_key
from app.contests.service import round_cache
from app.core.clock import utcnow
from app.core.deps import PageSessionDep
from app.core.runtime import cache_of, request_runtime
from app.leaderboard import service
from app.leaderboard.board import FINAL, BoardKeys, RoundBoard, Scope
from app.leaderboard.fragments import Fragment, FragmentCache
from app.leaderboard.page_reads import Line, ViewerRead, read_for_viewer
from app.leaderboard.privacy import name_style
from app.leaderboard.ranking import RankedEntry
from app.leaderboard.rebuild import rebuild_boards, repair_if_lost
from app.leaderboard.routes import board_redis, read_context
from app.leaderboard.schemas import BoardRowOut
from app.leaderboard.viewers import staff_access
from app.staff.deps import RoundViewerPage
from app.staff.roles import VIEW_DASHBOARD
from app.web.render import macros, page

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
REFRESH_SECONDS = 5
AROUND = 2


def _parts():
    return macros("_leaderboard_parts.html")


async def _fragment(
    ctx: service.ReadContext, round_: Round, style: str, found: tuple, scope: Scope, key: tuple
) -> Fragment:
    """The shared part of the page for the board `found` (phase, board, version), rendered now."""
    phase, board, version = found
    view = await service.top_view(ctx, round_, style, found, scope, 0, PAGE_SIZE)
    official_units = await cache_of(ctx.db, service.OfficialNames).get(ctx.db, round_.contest_id, "unit")
    official_provinces = await cache_of(ctx.db, service.OfficialNames).get(ctx.db, round_.contest_id, "province")
    await service.end_reads(ctx.db)
    units = await service.groups_of(round_.id, phase, board, official_units, "unit", 0, 300)
    provinces = await service.groups_of(round_.id, phase, board, official_provinces, "province", 0, 100)
    parts = _parts()
    final = phase == FINAL
    fragment = Fragment(
        version=version,
        made_at=cache_of(ctx.db, FragmentCache).clock(),
        shown_at=utcnow(),
        view=view,
        rows=[parts.board_row(row, final) for row in view.rows],
        filters=parts.filters(
            round_.id,
            units.groups,
            provinces.groups,
            scope.name if scope.kind == "unit" else "",
            scope.name if scope.kind == "province" else "",
            None,
        ),
        units=units.groups,
        provinces=provinces.groups,
    )
    object.__setattr__(fragment, "rows_html", "".join(fragment.rows))
    if version is not None:
        cache_of(ctx.db, FragmentCache).put(key, fragment)
    return fragment


_SLOT = Markup("\x00")  # where body() leaves the viewer's parts (NUL is never in the page's text)


def _body(fragment: Fragment, round_: Round) -> list[str]:
    """The page's content around the viewer's slots, rendered once per fragment and round name."""
    key = (round_.name, round_.contest_id)
    pieces = fragment.body.get(key)
    if pieces is None:
        final = fragment.view.phase == FINAL
        html = _parts().body(round_, fragment.view, final, fragment.shown_at, REFRESH_SECONDS, AROUND, _SLOT)
        pieces = fragment.body[key] = str(html).split(_SLOT)
    return pieces


def _meta(fragment: Fragment, round_: Round, request: Request) -> Markup:
    """The link preview, once per fragment, round name and public address."""
    key = (round_.name, round_.contest_id, public_base_key(request))
    meta = fragment.meta.get(key)
    if meta is None:
        meta = fragment.meta[key] = _parts().meta(round_, fragment.view.phase == FINAL, request)
    return meta


def _row_key(row: BoardRowOut, final: bool, is_me: bool) -> tuple:
    """What a rendered row shows (fragments.FragmentCache.row)."""
    return (final, row.rank, row.name, row.unit, row.province, row.correct, row.total, row.time_ms) + (
        row.prediction,
        row.distance,
        is_me,
    )


def _my_top_row(fragments: FragmentCache, row: BoardRowOut, final: bool) -> Markup:
    def render() -> Markup:
        return _parts().board_row(row.model_copy(update={"is_me": True}), final)

    return fragments.row(_row_key(row, final, True), render)


def _line_html(fragments: FragmentCache, line: Line, style: str, final: bool, viewer_id: int) -> Markup:
    """A neighbour's row, rendered once per process and what it shows (its stored row, rank,
    the name style and whether it is the viewer's)."""
    is_me = line.user_id == viewer_id

    def render() -> Markup:
        entry = RankedEntry.from_board(line.rank, line.user_id, line.row)
        return _parts().board_row(service.row_out(entry, style, viewer_id, final), final)

    return fragments.row(("line", final, style, line.rank, line.row, is_me), render)


def _standing_html(
    fragments: FragmentCache, round_id: int, read: ViewerRead | None, style: str, final: bool, viewer_id: int | None
) -> Markup:
    rows = ""
    if read is not None and viewer_id is not None and read.standings:
        rows = "".join([_line_html(fragments, line, style, final, viewer_id) for line in read.lines])
    return _parts().standing_section(round_id, read, Markup(rows))


@router.get("/rounds/{round_id}/leaderboard")
async def leaderboard_page(round_id: int, request: Request, session: PageSessionDep):
    # Like the home page, no dependency tree beyond the session: the per-process caches answer
    # without a database read, and the session made here is used only when one misses.
    runtime = request_runtime(request)
    user_id = session.user_id if session else None
    async with runtime.sessionmaker() as db:
        ctx = service.ReadContext(db, runtime.board_redis, runtime.settings.leaderboard_name_style)
        # The round from the per-process cache (its name and ids only; a rename shows within seconds).
        round_ = await round_cache(db).get(db, round_id)
        style = await name_style(db, round_id, ctx.default_name_style)
        access = await staff_access(db, user_id) if user_id is not None else None
        await service.end_reads(db)
        params = request.query_params
        unit, province = params.get("unit", "")[:200], params.get("province", "")[:80]
        filter_error = None
        try:
            scope = service.scope_of(unit, province)
        except service.OneScopeOnly as exc:
            # Back to the same page with both choices kept and the reason next to the filter.
            scope, filter_error = service.ALL, exc.message
        # Which board is current, the viewer's row and standing on it (page_reads.py).
        read = await read_for_viewer(runtime.board_redis, round_id, user_id, AROUND)
        if read.version is None and await repair_if_lost(db, runtime.board_redis, round_id):
            read = await read_for_viewer(runtime.board_redis, round_id, user_id, AROUND)
        phase, version = read.phase, read.version
        key = (round_id, phase, scope, style)
        fragments = cache_of(db, FragmentCache)
        fragment = fragments.get(key, version) if version is not None else None
        if fragment is None:
            board = RoundBoard(runtime.board_redis, BoardKeys(round_id, phase))
            fragment = await _fragment(ctx, round_, style, (phase, board, version), scope, key)
    final = phase == FINAL
    rows = fragment.rows_html
    if user_id is not None and user_id in fragment.view.user_ids:
        i = fragment.view.user_ids.index(user_id)
        rows = "".join(
            [*fragment.rows[:i], _my_top_row(fragments, fragment.view.rows[i], final), *fragment.rows[i + 1 :]]
        )
    filters_html = fragment.filters
    if filter_error:
        filters_html = _parts().filters(
            round_id, fragment.units, fragment.provinces, unit.strip(), province.strip(), filter_error
        )
    can_rebuild = access is not None and access.can(VIEW_DASHBOARD, round_.contest_id)
    rebuilt = params.get("rebuilt")
    notice = (
        _parts().notice(f"Đã dựng lại bảng xếp hạng từ cơ sở dữ liệu: {rebuilt} người dự thi.")
        if rebuilt and rebuilt.isascii() and rebuilt.isdigit()
        else ""
    )
    pieces = _body(fragment, round_)
    standing_html = _standing_html(fragments, round_id, read if session else None, style, final, user_id)

    def content(csrf_token: str) -> Markup:
        # The staff's form carries the session's CSRF token, which page() settles.
        staff = _parts().staff_form(round_id, csrf_token) if can_rebuild else ""
        slots = (notice, standing_html, filters_html, "1" if session else "0", rows, staff)
        return Markup("".join([piece + str(slot) for piece, slot in zip(pieces, slots)]) + pieces[-1])

    return page(
        request,
        "leaderboard.html",
        round=round_,
        meta_html=_meta(fragment, round_, request),
        content=content,
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
