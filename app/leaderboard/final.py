"""The final ranking of a round, computed from the database (never from Redis): what judges
freeze and export, and what the final board publishes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.service import get_round
from app.leaderboard.ordering import Result, best_per_user, final_key, live_key, prediction_distance
from app.leaderboard.results import load_results


@dataclass(frozen=True)
class RankedEntry:
    position: int  # 1-based; the order is total, so positions are unique
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
