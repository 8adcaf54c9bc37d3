"""Closing the books on a round: T stored on the round, final board published."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import update

from app.attempts.service import AttemptDeps, close_open_attempts, record_and_forget
from app.contests.models import Round
from app.contests.service import get_round, round_cache
from app.core.clock import utcnow
from app.judging.frozen import require_not_frozen
from app.leaderboard.errors import RoundNotClosed
from app.leaderboard.final import compute_truth
from app.leaderboard.rebuild import publish_final_board


@dataclass(frozen=True)
class FinalizeOutcome:
    round_id: int
    prediction_truth: int
    computed_truth: int
    participants: int


@dataclass(frozen=True)
class RoundEnd:
    closed_attempts: list[int]  # closed here: after the commit, `record_and_forget` them
    computed_truth: int
    prediction_truth: int


async def end_round(deps: AttemptDeps, round_: Round, truth: int | None) -> RoundEnd:
    """In the caller's transaction, once the round's close (+ grace) has passed: closes every
    attempt still open (at its deadline, with its saved answers: what the sweep would do, and T
    must see them), computes T and stores `truth` (None: the computed T) on the round."""
    if utcnow() <= round_.close_at + deps.grace:
        raise RoundNotClosed()
    closed = await close_open_attempts(deps.db, round_.id, round_.close_at)
    computed = await compute_truth(deps.db, round_.id)
    value = computed if truth is None else truth
    await deps.db.execute(update(Round).where(Round.id == round_.id).values(prediction_truth=value))
    return RoundEnd(closed, computed, value)


async def finalize_round(deps: AttemptDeps, redis, round_id: int, truth: int | None) -> FinalizeOutcome:
    """Stores T (the organizer's value, or the computed one when `truth` is None) and publishes
    the final board. May be repeated (a corrected T re-publishes) until the judges freeze the
    round; after that T and the board come from the snapshot (app.judging.snapshots)."""
    db = deps.db
    round_ = await get_round(db, round_id)
    await require_not_frozen(db, round_id, "công bố lại bảng xếp hạng với T khác")
    end = await end_round(deps, round_, truth)
    await db.commit()
    round_cache(db).clear()
    await record_and_forget(deps, end.closed_attempts)
    participants = await publish_final_board(db, redis, round_id, end.prediction_truth)
    return FinalizeOutcome(round_id, end.prediction_truth, end.computed_truth, participants)
