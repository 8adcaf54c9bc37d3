"""Ranked rows and the final ranking. Submitted attempts are read from the database (the record
every board is derived from); the final ranking of a round is computed from them (never from
Redis): what judges freeze and export, and what the final board publishes. RankedEntry is the
one ranked-row type, also for the rows a board reads back from Redis."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import SUBMITTED, Attempt
from app.contests.service import get_round
from app.integrity.models import excluded_from_round
from app.leaderboard.ordering import Result, best_per_user, final_key, from_epoch_ms, live_key, prediction_distance

# --- submitted attempts, as read from the database ------------------------------------------------

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


@cache
def _one_result():
    """load_result's statement, built once: it runs on every submit."""
    return _query().add_columns(Attempt.round_id).where(Attempt.id == bindparam("attempt_id"))


async def load_result(db: AsyncSession, attempt_id: int) -> tuple[int, Result] | None:
    """(round id, result) of a submitted attempt, or None if it is not submitted."""
    row = (await db.execute(_one_result(), {"attempt_id": attempt_id})).first()
    if row is None:
        return None
    return row[-1], _result(row)


# --- the ranked rows and the final ranking -------------------------------------------------------


@dataclass(frozen=True)
class RankedEntry:
    """One participant's row with its place: in the final ranking (computed here, frozen in a
    snapshot) or on a board read back from Redis (board.py: live or final, whole round, unit or
    province). The one ranked-row type: judging, exports, the API and the page all read it."""

    position: int  # 1-based place in the ranking it comes from; the order is total, so unique
    user_id: int
    full_name: str
    unit: str | None
    province: str | None
    district: str | None
    commune: str | None
    attempt_id: int  # the counted attempt, chosen by the final order
    correct: int
    total: int
    prediction: int | None
    distance: int | None  # |prediction − T|; None without a prediction (or without T)
    time_ms: int
    submitted_at: datetime

    @classmethod
    def parse(cls, payload: str) -> RankedEntry:
        """One row as a ranking snapshot stores it (JSON: app/judging/frozen.py)."""
        row = json.loads(payload)
        row["submitted_at"] = datetime.fromisoformat(row["submitted_at"])
        return cls(**row)

    @classmethod
    def from_board(cls, position: int, user_id: int, row_json: str) -> RankedEntry:
        """A board's display row (ordering.BoardEntry.row) at `position` in the board it was read
        from. A board holds no district or commune; the live board holds no prediction."""
        row = json.loads(row_json)
        return cls(
            position=position,
            user_id=user_id,
            full_name=row["n"],
            unit=row["u"] or None,
            province=row["p"] or None,
            district=None,
            commune=None,
            attempt_id=row["a"],
            correct=row["c"],
            total=row["t"],
            prediction=row.get("pr"),
            distance=row.get("d"),
            time_ms=row["ms"],
            submitted_at=from_epoch_ms(row["s"]),
        )

    @classmethod
    def of(cls, position: int, result: Result, distance: int | None) -> RankedEntry:
        return cls(
            position=position,
            user_id=result.user_id,
            full_name=result.full_name,
            unit=result.unit,
            province=result.province,
            district=result.district,
            commune=result.commune,
            attempt_id=result.attempt_id,
            correct=result.correct,
            total=result.total,
            prediction=result.prediction,
            distance=distance,
            time_ms=result.time_ms,
            submitted_at=result.submitted_at,
        )


def count_all_correct(results: list[Result]) -> int:
    """T: participants whose counted attempt was all correct. The first key of every order is
    `correct`, so all candidates for a participant's counted attempt share the highest number of
    correct answers: whichever the final order picks, it is all correct or it is not. (Picking by
    the live order here avoids the circle of T depending on the order that depends on T.)"""
    return sum(1 for r in best_per_user(results, live_key).values() if r.all_correct)


def rank_results(results: list[Result], truth: int | None) -> list[RankedEntry]:
    """Pure: counted attempt per participant by the final order, then that order."""
    key = lambda r: final_key(r, truth)  # noqa: E731
    counted = sorted(best_per_user(results, key).values(), key=key)
    return [RankedEntry.of(i, r, prediction_distance(r.prediction, truth)) for i, r in enumerate(counted, start=1)]


async def compute_truth(db: AsyncSession, round_id: int) -> int:
    return count_all_correct(await load_results(db, round_id))


async def final_ranking(db: AsyncSession, round_id: int, truth: int | None) -> list[RankedEntry]:
    """The final ranking of a round. `truth` is T as entered or confirmed by the organizer; None
    computes it from the attempts (count_all_correct). In a round without the prediction
    question the prediction key is skipped."""
    round_ = await get_round(db, round_id)
    results = await load_results(db, round_id)
    if not round_.prediction_enabled:
        truth = None
    elif truth is None:
        truth = count_all_correct(results)
    return rank_results(results, truth)
