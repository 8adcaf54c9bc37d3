"""Submitted attempts as read from the database, the record every board is derived from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import SUBMITTED, Attempt
from app.integrity.models import excluded_from_round
from app.leaderboard.ordering import Result

_COLUMNS = (
    Attempt.id,
    Attempt.user_id,
    Attempt.correct,
    Attempt.total,
    Attempt.time_ms,
    Attempt.submitted_at,
    Attempt.prediction,
    User.full_name,
    User.unit,
    User.province,
    User.district,
    User.commune,
)


def _result(row) -> Result:
    return Result(
        attempt_id=row[0],
        user_id=row[1],
        correct=row[2] or 0,
        total=row[3],
        time_ms=row[4] or 0,
        submitted_at=row[5],
        prediction=row[6],
        full_name=row[7],
        unit=row[8],
        province=row[9],
        district=row[10],
        commune=row[11],
    )


def _query():
    # Accounts the jury excluded from the round's results (app.integrity.exclusions) are not on
    # any board, live or final, and are not counted in T.
    return (
        select(*_COLUMNS)
        .join(User, User.id == Attempt.user_id)
        .where(Attempt.status == SUBMITTED, ~excluded_from_round(Attempt))
    )


async def load_results(db: AsyncSession, round_id: int) -> list[Result]:
    """Every submitted attempt of the round (all of them, not only the counted ones: which one
    counts depends on the order in use, live or final)."""
    rows = await db.execute(_query().where(Attempt.round_id == round_id))
    return [_result(row) for row in rows]


async def load_result(db: AsyncSession, attempt_id: int) -> tuple[int, Result] | None:
    """(round id, result) of a submitted attempt, or None if it is not submitted."""
    row = (await db.execute(_query().add_columns(Attempt.round_id).where(Attempt.id == attempt_id))).first()
    if row is None:
        return None
    return row[-1], _result(row)
