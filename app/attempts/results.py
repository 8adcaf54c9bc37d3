"""The result page's read: the attempt, its owner's attempts in the same round and the best of
them. On PostgreSQL one prepared statement on the asyncpg connection (as the open and the submit
do, app/attempts/statements.py: a SQLAlchemy ORM query cost several times the database's own work
in app CPU); SQLite, and every unusual case (an attempt still in progress, whose deadline may have
passed and must be closed first, or one that is not the person's), take the portable
service.result_progress, which says what happened."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from app.attempts import service, statements
from app.attempts.models import IN_PROGRESS, SUBMITTED, Attempt
from app.attempts.service import AttemptDeps


@dataclass(frozen=True, slots=True)
class Outcome:
    """An attempt as the result page shows it (ResultOut's fields, plus what ranking reads)."""

    id: int
    round_id: int
    status: str
    correct: int
    total: int
    time_ms: int
    prediction: int | None
    submitted_at: datetime | None
    auto_submitted: bool

    @property
    def attempt_id(self) -> int:
        return self.id

    @classmethod
    def of(cls, attempt: Attempt) -> Outcome:
        return cls(
            attempt.id,
            attempt.round_id,
            attempt.status,
            attempt.correct or 0,
            attempt.total,
            attempt.time_ms or 0,
            attempt.prediction,
            attempt.submitted_at,
            attempt.auto_submitted,
        )


Progress = tuple[Outcome, list[Outcome], Outcome]

# The person's attempts in the round of attempt $2 (none if $2 is not theirs), in order.
_MINE = """
SELECT id, round_id, status, coalesce(correct, 0), total, coalesce(time_ms, 0), prediction, submitted_at,
       auto_submitted
FROM attempts
WHERE user_id = $1 AND round_id = (SELECT round_id FROM attempts WHERE id = $2)
ORDER BY seq
"""


def _best(mine: list[Outcome]) -> Outcome:
    # service.ranking_key reads only the attributes Outcome has: the one definition of the order.
    return min((a for a in mine if a.status == SUBMITTED), key=lambda a: service.ranking_key(cast(Any, a)))


async def result_progress(deps: AttemptDeps, user_id: int, attempt_id: int) -> Progress | None:
    """(the attempt, the person's attempts in its round, the best of them) of a closed attempt;
    None while it is in progress. Someone else's attempt is "not found" (service's NotFound)."""
    engine = deps.db.bind
    if statements.is_postgres(engine):
        try:
            async with statements.driver(cast(Any, engine)) as conn:
                rows = await conn.fetch(_MINE, user_id, attempt_id)
        except statements.ConnectionLost:
            rows = []  # the portable path below reads it again on a fresh connection
        mine = [Outcome(*row) for row in rows]
        attempt = next((a for a in mine if a.id == attempt_id), None)
        # Not in progress means submitted (the only other status), so the round has a best attempt.
        if attempt is not None and attempt.status != IN_PROGRESS:
            return attempt, mine, _best(mine)
    found = await service.result_progress(deps, user_id, attempt_id)
    if found is None:
        return None
    attempt_row, rows_, _ = found
    mine = [Outcome.of(a) for a in rows_]
    return Outcome.of(attempt_row), mine, _best(mine)
