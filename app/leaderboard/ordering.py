"""The ranking order of domain.md as plain Python: the reference every other store must match.

Live order (while a round runs, T unknown): more correct, shorter time, earlier submission,
lower attempt id. Final order inserts |prediction − T| after `correct`; a missing prediction
ranks after any given one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MS = timedelta(milliseconds=1)


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch, in integer arithmetic (no float rounding). Submission times
    are kept to the millisecond everywhere (app.core.clock.truncate_ms), so this loses nothing."""
    return (value - _EPOCH) // _ONE_MS


def from_epoch_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


@dataclass(frozen=True)
class Result:
    """One submitted attempt with what the boards show about its participant."""

    attempt_id: int
    user_id: int
    correct: int
    total: int
    time_ms: int
    submitted_at: datetime
    prediction: int | None
    full_name: str = ""
    unit: str | None = None
    province: str | None = None
    district: str | None = None
    commune: str | None = None

    @property
    def submitted_ms(self) -> int:
        return epoch_ms(self.submitted_at)

    @property
    def all_correct(self) -> bool:
        return self.total > 0 and self.correct == self.total


def live_key(result: Result) -> tuple:
    return (-result.correct, result.time_ms, result.submitted_ms, result.attempt_id)


def prediction_distance(prediction: int | None, truth: int | None) -> int | None:
    if prediction is None or truth is None:
        return None
    return abs(prediction - truth)


def final_key(result: Result, truth: int | None) -> tuple:
    """With truth None (a round without the prediction question) the key is skipped: every entry
    gets the same value for it."""
    distance = prediction_distance(result.prediction, truth)
    missing = truth is not None and distance is None
    return (-result.correct, missing, distance or 0, result.time_ms, result.submitted_ms, result.attempt_id)


def best_per_user(results: Iterable[Result], key: Callable[[Result], tuple]) -> dict[int, Result]:
    """The counted attempt of each participant: their best by `key` (smallest)."""
    best: dict[int, Result] = {}
    for result in results:
        current = best.get(result.user_id)
        if current is None or key(result) < key(current):
            best[result.user_id] = result
    return best


def ranked(results: Iterable[Result], key: Callable[[Result], tuple]) -> list[Result]:
    """Counted attempts in ranking order, one per participant."""
    return sorted(best_per_user(results, key).values(), key=key)
