"""What one participant's line on a board holds: sort position in Redis plus display fields."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from app.core.textnorm import group_key
from app.leaderboard.encoding import final_member, live_member, live_score
from app.leaderboard.ordering import Result, epoch_ms, from_epoch_ms


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
    """From a final.RankedEntry: the score is the final position, exact and unique."""
    member = final_member(ranked.position, ranked.user_id)
    row = {"m": member, **_display(ranked), "pr": ranked.prediction, "d": ranked.distance}
    return BoardEntry(
        ranked.user_id, ranked.position, member, row, group_key(ranked.unit) or None, group_key(ranked.province) or None
    )


@dataclass(frozen=True)
class BoardLine:
    """A row read back from Redis, with its rank (1-based) in the board it was read from."""

    rank: int
    user_id: int
    full_name: str
    unit: str | None
    province: str | None
    correct: int
    total: int
    time_ms: int
    submitted_at: datetime
    prediction: int | None
    distance: int | None

    @classmethod
    def parse(cls, rank: int, user_id: int, row_json: str) -> BoardLine:
        row = json.loads(row_json)
        return cls(
            rank=rank,
            user_id=user_id,
            full_name=row["n"],
            unit=row["u"] or None,
            province=row["p"] or None,
            correct=row["c"],
            total=row["t"],
            time_ms=row["ms"],
            submitted_at=from_epoch_ms(row["s"]),
            prediction=row.get("pr"),
            distance=row.get("d"),
        )
