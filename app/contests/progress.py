"""The visitor's progress in a contest's rounds (attempts used, best result, the attempt in
progress), as the contest page shows it.

Read fresh at every view, never cached: a person must see their own count right after opening
or submitting an attempt, and nothing here can know when that happens. On PostgreSQL the read is
one prepared statement straight on a pooled asyncpg connection (statements.driver, as the open
and the submit): no ORM session, transaction or attempt objects, which cost the page several times
the query itself. SQLite (the embedded default) takes the portable ORM read of
attempts/service.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.attempts import service as attempts
from app.attempts.models import IN_PROGRESS, SUBMITTED
from app.attempts.statements import ConnectionLost, driver, is_postgres


@dataclass(frozen=True)
class Best:
    correct: int
    total: int
    time_ms: int | None


@dataclass(frozen=True)
class Progress:
    used: int
    best: Best | None
    in_progress: int | None  # the attempt to resume


# One row per attempt of the person in those rounds, in the order of service.progress_by_round.
_MINE = """
SELECT round_id, id, status, correct, total, time_ms, submitted_at FROM attempts
WHERE user_id = $1 AND round_id = ANY($2::int[])
ORDER BY round_id, seq
"""


def _ranking_key(row: tuple) -> tuple:
    # The one definition of the order, attempts/service.ranking_key, reads these four attributes.
    return attempts.ranking_key(
        cast(Any, SimpleNamespace(correct=row[3], time_ms=row[5], submitted_at=row[6], id=row[1]))
    )


def _progress(rows: list[tuple[int, int, str, int | None, int, int | None, datetime | None]]) -> Progress:
    """rows: (round id, id, status, correct, total, time_ms, submitted_at) in seq order. The best
    is the live ranking's (attempts/service.ranking_key): more correct, shorter time, earlier
    submission, lower id."""
    submitted = [r for r in rows if r[2] == SUBMITTED]
    best = min(submitted, key=_ranking_key) if submitted else None
    return Progress(
        used=len(rows),
        best=Best(best[3] or 0, best[4], best[5]) if best else None,
        in_progress=next((r[1] for r in rows if r[2] == IN_PROGRESS), None),
    )


async def progress_by_round(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], user_id: int, round_ids: list[int]
) -> dict[int, Progress]:
    """The person's progress in each of `round_ids` (every one of them listed, 0 used if none)."""
    if not round_ids:
        return {}
    if is_postgres(engine):
        try:
            async with driver(engine) as conn:
                found = await conn.fetch(_MINE, user_id, round_ids)
        except ConnectionLost:
            pass  # discarded: the portable read below takes a fresh connection
        else:
            rows: dict[int, list] = {round_id: [] for round_id in round_ids}
            for row in found:
                rows[row[0]].append(tuple(row))
            return {round_id: _progress(mine) for round_id, mine in rows.items()}
    async with sessions() as db:
        by_round = await attempts.progress_by_round(db, user_id, round_ids)
    return {
        round_id: _progress([(a.round_id, a.id, a.status, a.correct, a.total, a.time_ms, a.submitted_at) for a in mine])
        for round_id, (mine, _) in by_round.items()
    }
