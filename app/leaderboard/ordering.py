"""The ranking order, and how a result takes its place in a Redis sorted set.

The order of domain.md ("Ranking order") as plain Python: the reference every other store must
match. Live order (while a round runs, T unknown): more correct, shorter time, earlier
submission, lower attempt id. Final order inserts |prediction − T| after `correct`; a missing
prediction ranks after any given one.

How a live entry becomes a sorted-set (score, member) without losing that order. Redis scores are
IEEE doubles: integers are exact only below 2**53. The live order has four keys (correct,
time_ms, submitted_at, attempt id), about 6 + 22 + 41 + 31 bits: they cannot all share one
score. So the order is split in two levels:

- score  = (65535 − correct) · 2**32 + time_ms: an integer below 2**48, hence exact as a double
  (and printed back exactly by Redis, which formats scores with 17 significant digits);
- member = "<submitted_ms, 15 digits>:<attempt id, 12 digits>:<user id>". Redis orders members of
  equal score by their bytes (memcmp). Zero-padded fixed-width decimals compare bytewise exactly
  as the numbers do, so equal scores fall back to earlier submission, then lower attempt id.
  Attempt ids are unique, so the comparison never reaches the user id.

The final board (after T is known) needs no such care: its score is the final position itself.
A BoardEntry is what a board stores for one participant: that score and member, plus the display
row (board.py writes it; ranking.py reads it back as a RankedEntry).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from app.core.textnorm import group_key

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


# --- the order as a sorted-set score and member -----------------------------------------------

CORRECT_BITS = 16
TIME_BITS = 32
MAX_CORRECT = (1 << CORRECT_BITS) - 1
MAX_TIME_MS = (1 << TIME_BITS) - 1
MAX_SUBMITTED_MS = 10**15 - 1  # year 33658
MAX_ATTEMPT_ID = 10**12 - 1


def live_score(correct: int, time_ms: int) -> int:
    if not 0 <= correct <= MAX_CORRECT:
        raise ValueError(f"correct out of range: {correct}")
    if not 0 <= time_ms <= MAX_TIME_MS:
        raise ValueError(f"time_ms out of range: {time_ms}")
    return ((MAX_CORRECT - correct) << TIME_BITS) | time_ms


def decode_live_score(score: int | float) -> tuple[int, int]:
    """(correct, time_ms) back from a score read from Redis."""
    value = int(score)
    return MAX_CORRECT - (value >> TIME_BITS), value & MAX_TIME_MS


def live_member(submitted_ms: int, attempt_id: int, user_id: int) -> str:
    if not 0 <= submitted_ms <= MAX_SUBMITTED_MS:
        raise ValueError(f"submitted_ms out of range: {submitted_ms}")
    if not 0 <= attempt_id <= MAX_ATTEMPT_ID:
        raise ValueError(f"attempt id out of range: {attempt_id}")
    return f"{submitted_ms:015d}:{attempt_id:012d}:{user_id}"


def final_member(position: int, user_id: int) -> str:
    return f"{position:012d}:{user_id}"


def user_of_member(member: str) -> int:
    return int(member.rsplit(":", 1)[1])


# --- what a board stores for one participant -------------------------------------------------


@dataclass(frozen=True)
class BoardEntry:
    user_id: int
    score: int
    member: str
    row: dict  # stored as JSON in the board's rows hash; "m" is the member
    unit: str | None  # group keys (app.core.textnorm.group_key): "Sở Tư pháp" = "sở  tư pháp"
    province: str | None

    @property
    def row_json(self) -> str:
        return json.dumps(self.row, ensure_ascii=False, separators=(",", ":"))


def _display(result) -> dict:
    """`result`: a Result or a RankedEntry. No phone, no CCCD, no date of birth: the board only
    ever holds what may be shown."""
    return {
        "n": result.full_name,
        "u": result.unit or "",
        "p": result.province or "",
        "c": result.correct,
        "t": result.total,
        "ms": result.time_ms,
        "s": epoch_ms(result.submitted_at),
        "a": result.attempt_id,
    }


def live_entry(result: Result) -> BoardEntry:
    member = live_member(result.submitted_ms, result.attempt_id, result.user_id)
    # The live board leaves the prediction out: other participants are still predicting.
    row = {"m": member, **_display(result)}
    return BoardEntry(
        result.user_id,
        live_score(result.correct, result.time_ms),
        member,
        row,
        group_key(result.unit) or None,
        group_key(result.province) or None,
    )


def final_entry(ranked) -> BoardEntry:
    """From a ranking.RankedEntry: the score is the final position, exact and unique."""
    member = final_member(ranked.position, ranked.user_id)
    row = {"m": member, **_display(ranked), "pr": ranked.prediction, "d": ranked.distance}
    return BoardEntry(
        ranked.user_id, ranked.position, member, row, group_key(ranked.unit) or None, group_key(ranked.province) or None
    )
