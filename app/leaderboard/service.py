"""Reading boards for the API and the page: which board is current (live or final), names as
the organizer chose, and a short-lived cache of the pages everyone asks for."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.models import ContestLocality, ContestUnit
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


class PageCache:
    """Top pages by board version. At 100,000 participants most of them watch the same first
    page; each process asks Redis for it once per change of the board, not once per viewer.
    Entries are exact (keyed by the version, which changes with every change of the board);
    the age limit only bounds memory held by boards nobody reads any more."""

    def __init__(self, max_entries: int = 512, max_age_seconds: float = 60.0):
        self.max_entries = max_entries
        self.max_age = max_age_seconds
        self._items: OrderedDict[tuple, tuple[float, tuple[int, list[RankedEntry]]]] = OrderedDict()

    def get(self, key: tuple):
        hit = self._items.get(key)
        if hit is None or hit[0] < time.monotonic():
            return None
        self._items.move_to_end(key)
        return hit[1]

    def put(self, key: tuple, value) -> None:
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


async def board_out(
    ctx: ReadContext, round_id: int, scope: Scope, offset: int, limit: int, viewer_id: int | None = None
) -> BoardOut:
    round_ = await round_cache(ctx.db).get(ctx.db, round_id)  # 404 for an unknown round
    style = await name_style(ctx.db, round_id, ctx.default_name_style)
    await end_reads(ctx.db)
    phase, board, version = await healed_board(ctx, round_id)
    key = (round_id, phase, version, scope, offset, limit)
    pages = cache_of(ctx.db, PageCache)
    data = pages.get(key) if version is not None else None
    if data is None:
        data = await board.page(scope, offset, limit)
        if version is not None:
            pages.put(key, data)
    participants, lines = data
    final = phase == FINAL
    truth = None
    if final:
        stored = (await board.meta()).get("truth")
        truth = int(stored) if stored is not None else round_.prediction_truth
    return BoardOut(
        round_id=round_id,
        phase=phase,
        scope=cast(ScopeKind, scope.kind),
        scope_name=scope.name,
        participants=participants,
        prediction_truth=truth,
        offset=offset,
        limit=limit,
        rows=[row_out(x, style, viewer_id, final) for x in lines],
    )


async def my_standing_out(ctx: ReadContext, round_id: int, user_id: int, around: int) -> MyStandingOut:
    await round_cache(ctx.db).get(ctx.db, round_id)
    style = await name_style(ctx.db, round_id, ctx.default_name_style)
    await end_reads(ctx.db)
    phase, board, _ = await healed_board(ctx, round_id)
    mine = await board.line_of(user_id)
    if mine is None:
        return MyStandingOut(round_id=round_id, phase=phase, on_board=False, standings=[])
    scopes = [ALL]
    if mine.unit:
        scopes.append(Scope("unit", mine.unit))
    if mine.province:
        scopes.append(Scope("province", mine.province))
    standings = []
    for scope in scopes:
        found = await board.around(scope, user_id, around, around)
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
