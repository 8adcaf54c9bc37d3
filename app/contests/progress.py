"""The visitor's progress in a contest's rounds (attempts used, best result, the attempt in
progress), as the contest page shows it.

Read fresh at every view, never cached: a person must see their own count right after opening
or submitting an attempt, and nothing here can know when that happens. On PostgreSQL the read is
one prepared statement straight on a pooled asyncpg connection: no ORM session, transaction or
attempt objects, which cost the page several times the query itself, and no SQLAlchemy
Connection around it either (statements.driver's costs a third more CPU than this read: the
checkout, the wrapper and the reset on return each cross into a greenlet). SQLite (the embedded
default) takes the portable ORM read of attempts/service.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.util import greenlet_spawn

from app.attempts import service as attempts
from app.attempts.models import IN_PROGRESS, SUBMITTED
from app.attempts.statements import CONNECTION_LOST, is_postgres


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


def _progress(rows: list[tuple[int, int, str, int | None, int, int | None, datetime | None]]) -> Progress:
    """rows: (round id, id, status, correct, total, time_ms, submitted_at) in seq order. The best
    is the live ranking's (attempts/service.ranking_key): more correct, shorter time, earlier
    submission, lower id."""
    submitted = [r for r in rows if r[2] == SUBMITTED]
    best = min(submitted, key=lambda r: (-(r[3] or 0), r[5], r[6], r[1])) if submitted else None
    return Progress(
        used=len(rows),
        best=Best(best[3] or 0, best[4], best[5]) if best else None,
        in_progress=next((r[1] for r in rows if r[2] == IN_PROGRESS), None),
    )


async def _fetch(engine: AsyncEngine, user_id: int, round_ids: list[int]) -> list | None:
    """The rows of _MINE, or None if the pooled connection was dead (discarded: the caller then
    reads the portable way, on a fresh one)."""
    raw = await engine.raw_connection()
    conn = raw.driver_connection
    assert conn is not None  # None only once a connection is closed; this one is checked out
    try:
        found = await conn.fetch(_MINE, user_id, round_ids)
    except BaseException as exc:
        # Whatever went wrong (a cancelled request may leave the statement running), the
        # connection is discarded, not handed back: inside SQLAlchemy's greenlet, as closing it
        # may talk to the server.
        await greenlet_spawn(raw.invalidate, exc if isinstance(exc, Exception) else None)
        if isinstance(exc, CONNECTION_LOST) or (isinstance(exc, Exception) and conn.is_closed()):
            return None
        raise
    # Back to the pool at once: its reset is a rollback, and no transaction was begun (asyncpg
    # ran the statement on its own), so nothing is sent and no greenlet is needed.
    raw.close()
    return list(found)


async def progress_by_round(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession], user_id: int, round_ids: list[int]
) -> dict[int, Progress]:
    """The person's progress in each of `round_ids` (every one of them listed, 0 used if none)."""
    if not round_ids:
        return {}
    if is_postgres(engine):
        found = await _fetch(engine, user_id, round_ids)
        if found is not None:
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
