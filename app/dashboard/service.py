"""Live figures of a round for the organizers' dashboard, straight from the database (the record;
a few aggregate queries, cheap enough to run every few seconds per watching organizer)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import IN_PROGRESS, SUBMITTED, Attempt
from app.contests.models import Round
from app.core.clock import to_local, utcnow
from app.core.runtime import cache_of

MINUTES = 30
TOP = 12


@dataclass
class Dashboard:
    round_id: int
    generated_at: str
    participants: int
    in_progress: int
    submitted: int
    per_minute: list[tuple[str, int]]  # (local HH:MM, submissions), oldest first, MINUTES of them
    by_province: list[tuple[str, int]]  # participants, most first
    by_unit: list[tuple[str, int]]
    score_distribution: list[tuple[int, int]]  # (correct answers of the best attempt, participants)

    def as_json(self) -> dict:
        return asdict(self)


async def _grouped(db: AsyncSession, round_id: int, column) -> list[tuple[str, int]]:
    label = func.coalesce(column, "")
    people = func.count(distinct(Attempt.user_id))
    rows = await db.execute(
        select(label, people)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.round_id == round_id)
        .group_by(label)
        .order_by(people.desc(), label)
        .limit(TOP + 1)
    )
    items = [(name or "(không ghi)", n) for name, n in rows]
    return items[:TOP]


async def dashboard(db: AsyncSession, round_: Round) -> Dashboard:
    now = utcnow()
    rid = round_.id
    participants = await db.scalar(select(func.count(distinct(Attempt.user_id))).where(Attempt.round_id == rid))
    in_progress = await db.scalar(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.round_id == rid, Attempt.status == IN_PROGRESS, Attempt.deadline > now)
    )
    submitted = await db.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.round_id == rid, Attempt.status == SUBMITTED)
    )
    start = (now - timedelta(minutes=MINUTES - 1)).replace(second=0, microsecond=0)
    buckets = {start + timedelta(minutes=i): 0 for i in range(MINUTES)}
    for (at,) in await db.execute(
        select(Attempt.submitted_at).where(
            Attempt.round_id == rid, Attempt.status == SUBMITTED, Attempt.submitted_at >= start
        )
    ):
        minute = at.replace(second=0, microsecond=0)  # type: ignore[union-attr]  # submitted: never None
        if minute in buckets:
            buckets[minute] += 1
    best = (
        select(Attempt.user_id, func.max(Attempt.correct).label("best"))
        .where(Attempt.round_id == rid, Attempt.status == SUBMITTED)
        .group_by(Attempt.user_id)
        .subquery()
    )
    histogram: dict[int, int] = dict((await db.execute(select(best.c.best, func.count()).group_by(best.c.best))).all())
    top = max([round_.questions_per_attempt, *histogram]) if histogram else round_.questions_per_attempt
    return Dashboard(
        round_id=rid,
        generated_at=to_local(now).strftime("%H:%M:%S %d/%m/%Y"),
        participants=participants or 0,
        in_progress=in_progress or 0,
        submitted=submitted or 0,
        per_minute=[(to_local(m).strftime("%H:%M"), n) for m, n in buckets.items()],
        by_province=await _grouped(db, rid, User.province),
        by_unit=await _grouped(db, rid, User.unit),
        score_distribution=[(score, histogram.get(score, 0)) for score in range(0, top + 1)],
    )


CACHE_SECONDS = 2.0


class DashboardCache:
    """The figures last computed per round, held by the runtime (app/core/runtime.py)."""

    def __init__(self) -> None:
        self.items: dict[int, tuple[float, Dashboard]] = {}

    def clear(self) -> None:
        self.items.clear()


async def cached_dashboard(db: AsyncSession, round_: Round) -> Dashboard:
    """Many organizers watching one round, each page refreshing every 5 s: one worker computes the
    figures at most every CACHE_SECONDS and hands the same ones to everybody in between."""
    import time

    recent = cache_of(db, DashboardCache).items
    hit = recent.get(round_.id)
    if hit and hit[0] > time.monotonic():
        return hit[1]
    data = await dashboard(db, round_)
    recent[round_.id] = (time.monotonic() + CACHE_SECONDS, data)
    return data
