"""Reading boards for the API and the page: which board is current (live or final), names as
the organizer chose, and a short-lived cache of the pages everyone asks for."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import ContestLocality, ContestUnit, Round
from app.contests.service import round_cache
from app.core.errors import Invalid
from app.core.runtime import cache_of
from app.core.textnorm import group_key
from app.leaderboard.board import ALL, FINAL, LIVE, BoardKeys, RoundBoard, Scope
from app.leaderboard.privacy import mask_name, name_style
from app.leaderboard.ranking import RankedEntry
from app.leaderboard.rebuild import repair_if_lost
from app.leaderboard.schemas import (
    BoardOut,
    BoardRowOut,
    GroupOut,
    GroupsOut,
    MyStandingOut,
    Phase,
    ScopeKind,
    StandingOut,
)


class OneScopeOnly(Invalid):
    def __init__(self):
        super().__init__("invalid_scope", "Chỉ chọn một trong hai: đơn vị hoặc tỉnh/thành phố.")


def scope_of(unit: str | None, province: str | None) -> Scope:
    unit, province = (unit or "").strip(), (province or "").strip()
    if unit and province:
        raise OneScopeOnly()
    if unit:
        return Scope("unit", unit)
    if province:
        return Scope("province", province)
    return ALL


async def end_reads(db: AsyncSession) -> None:
    """Ends the request's read transaction before Redis is asked: on SQLite (the embedded
    default) every transaction holds the write lock, and submits must not wait on board reads.
    A commit, not a rollback: loaded objects stay usable (expire_on_commit is off)."""
    if db.in_transaction():
        await db.commit()


async def current_board(redis, round_id: int) -> tuple[Phase, RoundBoard, str | None]:
    """(phase, board, version): the final board once published, else the live one."""
    final, live = BoardKeys(round_id, FINAL), BoardKeys(round_id, LIVE)
    final_version, live_version = await redis.mget(final.version, live.version)
    if final_version is not None:
        return FINAL, RoundBoard(redis, final), final_version
    return LIVE, RoundBoard(redis, live), live_version


async def board_and_row(
    ctx: ReadContext, round_id: int, user_id: int | None
) -> tuple[Phase, RoundBoard, str | None, str | None]:
    """current_board (healed if Redis lost it) and the user's row on it, in one round trip."""
    found = await _board_and_row(ctx.redis, round_id, user_id)
    if found[2] is None and await repair_if_lost(ctx.db, ctx.redis, round_id):
        found = await _board_and_row(ctx.redis, round_id, user_id)
    return found


async def _board_and_row(redis, round_id: int, user_id: int | None) -> tuple[Phase, RoundBoard, str | None, str | None]:
    final, live = BoardKeys(round_id, FINAL), BoardKeys(round_id, LIVE)
    pipe = redis.pipeline(transaction=False)  # GETs, not MGET: a cluster pipeline refuses MGET
    pipe.get(final.version)
    pipe.get(live.version)
    if user_id is not None:
        pipe.hget(final.rows, str(user_id))
        pipe.hget(live.rows, str(user_id))
    final_version, live_version, *rows = await pipe.execute()
    rows = rows or [None, None]
    if final_version is not None:
        return FINAL, RoundBoard(redis, final), final_version, rows[0]
    return LIVE, RoundBoard(redis, live), live_version, rows[1]


class PageCache:
    """Top pages by board version. At 100,000 participants most of them watch the same first
    page; each process asks Redis for it once per change of the board, not once per viewer.
    Entries are exact (keyed by the version, which changes with every change of the board);
    the age limit only bounds memory held by boards nobody reads any more."""

    def __init__(self, max_entries: int = 512, max_age_seconds: float = 60.0):
        self.max_entries = max_entries
        self.max_age = max_age_seconds
        self._items: OrderedDict[tuple, tuple[float, TopView]] = OrderedDict()

    def get(self, key: tuple) -> TopView | None:
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: tuple, value: TopView) -> None:
        self._items[key] = (time.monotonic() + self.max_age, value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def row_out(line: RankedEntry, style: str, viewer_id: int | None, final: bool) -> BoardRowOut:
    return BoardRowOut(
        rank=line.position,
        name=mask_name(line.full_name, style),
        unit=line.unit,
        province=line.province,
        correct=line.correct,
        total=line.total,
        time_ms=line.time_ms,
        submitted_at=line.submitted_at,
        prediction=line.prediction if final else None,
        distance=line.distance if final else None,
        is_me=viewer_id is not None and line.user_id == viewer_id,
    )


@dataclass
class TopView:
    """A page of a board as everyone sees it (names masked, nobody marked as "me"), built once per
    board version and name style and shared by every viewer of the process; `out` and `json` mark
    the viewer's own row per request."""

    round_id: int
    phase: Phase
    scope: Scope
    offset: int
    limit: int
    participants: int
    truth: int | None
    rows: list[BoardRowOut]
    user_ids: list[int]
    _json: tuple[bytes, bytes, list[bytes]] | None = None

    def out(self, viewer_id: int | None = None) -> BoardOut:
        rows = self.rows
        if viewer_id in self.user_ids:
            rows = [r.model_copy(update={"is_me": True}) if u == viewer_id else r for r, u in zip(rows, self.user_ids)]
        return BoardOut(
            round_id=self.round_id,
            phase=self.phase,
            scope=cast(ScopeKind, self.scope.kind),
            scope_name=self.scope.name,
            participants=self.participants,
            prediction_truth=self.truth,
            offset=self.offset,
            limit=self.limit,
            rows=rows,
        )

    def json(self, viewer_id: int | None = None) -> bytes:
        """`out(viewer_id)` as the API's JSON. The rows are serialized once per view; a request
        only joins them (and serializes its viewer's own row, marked)."""
        if self._json is None:
            head, _, tail = (
                self.out().model_copy(update={"rows": []}).model_dump_json().encode().partition(b'"rows":[]')
            )
            self._json = (head + b'"rows":[', b"]" + tail, [r.model_dump_json().encode() for r in self.rows])
        head, tail, rows = self._json
        if viewer_id in self.user_ids:
            i = self.user_ids.index(viewer_id)
            rows = (
                rows[:i] + [self.rows[i].model_copy(update={"is_me": True}).model_dump_json().encode()] + rows[i + 1 :]
            )
        return head + b",".join(rows) + tail


@dataclass(frozen=True)
class ReadContext:
    db: AsyncSession
    redis: object
    default_name_style: str


async def healed_board(ctx: ReadContext, round_id: int) -> tuple[Phase, RoundBoard, str | None]:
    """current_board, rebuilt from the database first if Redis lost it (rebuild.py, repair_if_lost)."""
    found = await current_board(ctx.redis, round_id)
    if found[2] is None and await repair_if_lost(ctx.db, ctx.redis, round_id):
        found = await current_board(ctx.redis, round_id)
    return found


async def top_view(
    ctx: ReadContext,
    round_: Round,
    style: str,
    found: tuple[Phase, RoundBoard, str | None],
    scope: Scope,
    offset: int,
    limit: int,
) -> TopView:
    """The page of the board `found` (current_board's answer): from the process's cache when that
    version of the board was read before with the same name style, else from Redis."""
    phase, board, version = found
    key = (round_.id, phase, version, scope, offset, limit, style)
    pages = cache_of(ctx.db, PageCache)
    view = pages.get(key) if version is not None else None
    if view is None:
        participants, lines = await board.page(scope, offset, limit)
        final = phase == FINAL
        truth = None
        if final:
            # T travels with the final board (swapped in with it, under a new version).
            stored = (await board.meta()).get("truth")
            truth = int(stored) if stored is not None else round_.prediction_truth
        rows = [row_out(x, style, None, final) for x in lines]
        view = TopView(round_.id, phase, scope, offset, limit, participants, truth, rows, [x.user_id for x in lines])
        if version is not None:
            pages.put(key, view)
    return view


async def board_view(ctx: ReadContext, round_id: int, scope: Scope, offset: int, limit: int) -> TopView:
    round_ = await round_cache(ctx.db).get(ctx.db, round_id)  # 404 for an unknown round
    style = await name_style(ctx.db, round_id, ctx.default_name_style)
    await end_reads(ctx.db)
    return await top_view(ctx, round_, style, await healed_board(ctx, round_id), scope, offset, limit)


async def board_out(
    ctx: ReadContext, round_id: int, scope: Scope, offset: int, limit: int, viewer_id: int | None = None
) -> BoardOut:
    return (await board_view(ctx, round_id, scope, offset, limit)).out(viewer_id)


async def my_standing_out(ctx: ReadContext, round_id: int, user_id: int, around: int) -> MyStandingOut:
    await round_cache(ctx.db).get(ctx.db, round_id)
    style = await name_style(ctx.db, round_id, ctx.default_name_style)
    await end_reads(ctx.db)
    phase, board, _ = await healed_board(ctx, round_id)
    return await standing_out(
        round_id, style, phase, board, user_id, await board.redis.hget(board.keys.rows, str(user_id)), around
    )


async def standing_out(
    round_id: int,
    style: str,
    phase: Phase,
    board: RoundBoard,
    user_id: int,
    row: str | None,
    around: int,
    neighbours_in: int | None = None,
) -> MyStandingOut:
    """The participant's standing, given their row on `board` (None: not on it): their rank and a
    few neighbours in the round, their unit and their province, read in one round trip
    (neighbours in the first `neighbours_in` of those only, if given: the page shows the round's)."""
    if not row:
        return MyStandingOut(round_id=round_id, phase=phase, on_board=False, standings=[])
    mine = RankedEntry.from_board(0, user_id, row)
    scopes = [ALL]
    if mine.unit:
        scopes.append(Scope("unit", mine.unit))
    if mine.province:
        scopes.append(Scope("province", mine.province))
    standings = []
    for scope, found in zip(scopes, await board.standings(scopes, user_id, around, around, neighbours_in)):
        if found is not None:
            rank, size, lines = found
            standings.append(
                StandingOut(
                    scope=cast(ScopeKind, scope.kind),
                    scope_name=scope.name,
                    rank=rank,
                    participants=size,
                    rows=[row_out(x, style, user_id, phase == FINAL) for x in lines],
                )
            )
    return MyStandingOut(round_id=round_id, phase=phase, on_board=True, standings=standings)


class OfficialNames:
    """The contest's official unit list and localities by group key, kept briefly per process:
    a group whose key is on the list is shown by its official name, else by a spelling typed."""

    def __init__(self, ttl_seconds: float = 60.0):
        self.ttl = ttl_seconds
        self._items: dict[tuple[int, str], tuple[float, dict[str, str]]] = {}

    async def get(self, db: AsyncSession, contest_id: int, kind: str) -> dict[str, str]:
        hit = self._items.get((contest_id, kind))
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        if kind == "unit":
            names = (await db.scalars(select(ContestUnit.name).where(ContestUnit.contest_id == contest_id))).all()
        else:
            names = (
                await db.scalars(
                    select(ContestLocality.province).distinct().where(ContestLocality.contest_id == contest_id)
                )
            ).all()
        found = {group_key(n): n for n in names}
        self._items[(contest_id, kind)] = (time.monotonic() + self.ttl, found)
        return found

    def clear(self) -> None:
        self._items.clear()


async def groups_out(
    ctx: ReadContext, round_id: int, kind: Literal["unit", "province"], offset: int, limit: int
) -> GroupsOut:
    round_ = await round_cache(ctx.db).get(ctx.db, round_id)
    official = await cache_of(ctx.db, OfficialNames).get(ctx.db, round_.contest_id, kind)
    await end_reads(ctx.db)
    phase, board, _ = await healed_board(ctx, round_id)
    return await groups_of(round_id, phase, board, official, kind, offset, limit)


async def groups_of(
    round_id: int,
    phase: Phase,
    board: RoundBoard,
    official: dict[str, str],
    kind: Literal["unit", "province"],
    offset: int,
    limit: int,
) -> GroupsOut:
    total, groups = await board.groups(kind, offset, limit)
    return GroupsOut(
        round_id=round_id,
        phase=phase,
        kind=kind,
        participants=await board.size(),
        groups_total=total,
        offset=offset,
        limit=limit,
        groups=[GroupOut(name=official.get(group_key(n), n), participants=c) for n, c in groups],
    )
