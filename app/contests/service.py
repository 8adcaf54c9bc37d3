"""Reading contests and rounds (administration comes with the organizer console)."""

from __future__ import annotations

import time
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.contests.models import Contest, Round
from app.contests.schemas import ContestOut, ContestSummary, RoundOut
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.runtime import cache_of


def round_status(round_: Round, now: datetime) -> str:
    if now < round_.open_at:
        return "upcoming"
    return "open" if now < round_.close_at else "closed"


def round_out(round_: Round, now: datetime) -> RoundOut:
    return RoundOut(
        id=round_.id,
        name=round_.name,
        open_at=round_.open_at,
        close_at=round_.close_at,
        questions_per_attempt=round_.questions_per_attempt,
        time_limit_seconds=round_.time_limit_seconds,
        attempts_allowed=round_.attempts_allowed,
        prediction_enabled=round_.prediction_enabled,
        prediction_question=round_.prediction_question,
        status=round_status(round_, now),
    )


def _open_round_id(contest: Contest, now: datetime) -> int | None:
    return next((r.id for r in contest.rounds if r.is_open(now)), None)


async def published_contests(db: AsyncSession) -> list[Contest]:
    """Every published contest with its rounds loaded, newest first."""
    return list(
        (
            await db.scalars(
                select(Contest)
                .where(Contest.published.is_(True))
                .options(selectinload(Contest.rounds))
                .order_by(Contest.created_at.desc(), Contest.id.desc())
            )
        ).all()
    )


def contest_summaries(contests: list[Contest], now: datetime) -> list[ContestSummary]:
    return [
        ContestSummary(
            id=c.id,
            slug=c.slug,
            title=c.title,
            organizer_name=c.organizer_name,
            description=c.description,
            open_round_id=_open_round_id(c, now),
        )
        for c in contests
    ]


def contest_out(contest: Contest | None, now: datetime) -> ContestOut:
    if contest is None:
        raise NotFound("contest_not_found", "Không tìm thấy cuộc thi.")
    return ContestOut(
        id=contest.id,
        slug=contest.slug,
        title=contest.title,
        organizer_name=contest.organizer_name,
        description=contest.description,
        rules_text=contest.rules_text,
        open_round_id=_open_round_id(contest, now),
        rounds=[round_out(r, now) for r in contest.rounds],
    )


async def list_contests(db: AsyncSession) -> list[ContestSummary]:
    return contest_summaries(await published_contests(db), utcnow())


async def get_contest(db: AsyncSession, contest_id: int) -> ContestOut:
    contest = await db.scalar(
        select(Contest)
        .where(Contest.id == contest_id, Contest.published.is_(True))
        .options(selectinload(Contest.rounds))
    )
    return contest_out(contest, utcnow())


async def get_round(db: AsyncSession, round_id: int) -> Round:
    round_ = await db.get(Round, round_id)
    if round_ is None:
        raise NotFound("round_not_found", "Không tìm thấy đợt thi.")
    return round_


class RoundCache:
    """Rounds by id for the hot paths (resume, answer display). A few seconds of staleness is the
    price of not reading the round on every request; opening an attempt reads the database."""

    def __init__(self, ttl_seconds: float = 10.0):
        self.ttl = ttl_seconds
        self._items: dict[int, tuple[float, Round]] = {}

    async def get(self, db: AsyncSession, round_id: int) -> Round:
        hit = self._items.get(round_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        round_ = await get_round(db, round_id)
        db.expunge(round_)
        self._items[round_id] = (time.monotonic() + self.ttl, round_)
        return round_

    def clear(self) -> None:
        self._items.clear()


def round_cache(db: AsyncSession) -> RoundCache:
    """The app's round cache (the runtime's, reached through the session: app/core/runtime.py)."""
    return cache_of(db, RoundCache)
