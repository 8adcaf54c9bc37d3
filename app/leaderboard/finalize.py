"""Closing the books on a round: T stored on the round, final board published."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update

from app.attempts.models import IN_PROGRESS, Attempt
from app.attempts.service import AttemptDeps, close_expired_attempt
from app.contests.models import Round
from app.contests.service import get_round, round_cache
from app.core.clock import utcnow
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
    the final board. May be repeated: a corrected T re-publishes."""
    db = deps.db
    round_ = await get_round(db, round_id)
    if utcnow() <= round_.close_at + deps.grace:
        raise RoundNotClosed()
    # Attempts whose owners never came back and the sweep has not reached yet: closing them now
    # (at their deadline, with their saved answers) is what the sweep would do, and T must see them.
    leftovers = (await db.scalars(select(Attempt.id).where(Attempt.round_id == round_id,
                                                           Attempt.status == IN_PROGRESS))).all()
    for attempt_id in leftovers:
        await close_expired_attempt(deps, attempt_id)
    computed = await compute_truth(db, round_id)
    value = computed if truth is None else truth
    await db.execute(update(Round).where(Round.id == round_id).values(prediction_truth=value))
    await db.commit()
    round_cache.clear()
    participants = await publish_final_board(db, redis, round_id, value)
    return FinalizeOutcome(round_id, value, computed, participants)
