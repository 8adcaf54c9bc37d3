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


async def finalize_round(deps: AttemptDeps, redis, round_id: int, truth: int | None) -> FinalizeOutcome:
    """Stores T (the organizer's value, or the computed one when `truth` is None) and publishes
    the final board. May be repeated (a corrected T re-publishes) until the judges freeze the
    round; after that T and the board come from the snapshot (app.judging.snapshots)."""
    db = deps.db
    round_ = await get_round(db, round_id)
    await require_not_frozen(db, round_id, "công bố lại bảng xếp hạng với T khác")
    if utcnow() <= round_.close_at + deps.grace:
        raise RoundNotClosed()
    # Attempts whose owners never came back and the sweep has not reached yet: closing them now
    # (at their deadline, with their saved answers) is what the sweep would do, and T must see
    # them; in the same transaction as T.
    leftovers = await close_open_attempts(db, round_id, round_.close_at)
    computed = await compute_truth(db, round_id)
    value = computed if truth is None else truth
    await db.execute(update(Round).where(Round.id == round_id).values(prediction_truth=value))
    await db.commit()
    round_cache.clear()
    await record_and_forget(deps, leftovers)
    participants = await publish_final_board(db, redis, round_id, value)
    return FinalizeOutcome(round_id, value, computed, participants)
