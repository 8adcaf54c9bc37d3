"""Writing a round's boards from the database, the record: the attempt that just closed
(record_closed_attempt, the runtime's hook), a full rebuild (after a Redis loss, an incident, or
to publish the final board), the self-repair of a lost board on the next submit or read, and
closing the books on a round (T stored, final board published). Reading is in service.py."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.models import SUBMITTED
from app.attempts.service import AttemptDeps, close_open_attempts, record_and_forget
from app.contests.models import Round
from app.contests.service import get_round, round_cache
from app.core.clock import utcnow
from app.core.db import reads_outside_transaction
from app.core.errors import Conflict
from app.judging.frozen import iter_rows, latest_snapshot, require_not_frozen
from app.leaderboard.board import FINAL, LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import Result, best_per_user, final_entry, live_entry, live_key
from app.leaderboard.ranking import compute_truth, final_ranking, load_result, load_results

_LOCK_SECONDS = 600


class RebuildInProgress(Conflict):
    def __init__(self):
        super().__init__("board_rebuild_in_progress", "Bảng xếp hạng đang được dựng lại. Vui lòng thử lại sau ít phút.")


@dataclass(frozen=True)
class RebuildReport:
    round_id: int
    live_participants: int
    final_participants: int | None  # None: no final board (T not stored yet)


# Deletes the lock only if it is still ours: after an overlong rebuild (lock expired, another
# rebuild took it) a plain DEL would free someone else's lock.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class _Lock:
    """One rebuild per board at a time (two would swap half-built copies into each other)."""

    def __init__(self, redis, key: str):
        self.redis, self.key = redis, key
        self.token = secrets.token_hex(8)

    async def __aenter__(self):
        if not await self.redis.set(self.key, self.token, nx=True, ex=_LOCK_SECONDS):
            raise RebuildInProgress()

    async def __aexit__(self, *exc):
        await self.redis.eval(_RELEASE, 1, self.key, self.token)


async def _current_results(db: AsyncSession, round_id: int) -> list[Result]:
    await db.commit()  # end any open transaction: read what is committed now
    try:
        return await load_results(db, round_id)
    finally:
        # No transaction stays open while Redis is written: on SQLite (embedded default) an open
        # transaction holds the write lock and every submit would wait for the whole rebuild.
        await db.commit()


async def rebuild_live_board(db: AsyncSession, redis, round_id: int) -> int:
    """Rebuilds the live board while submits go on; returns the number of participants.

    Submits recorded while the copy is being built land in the old keys and are lost at the swap,
    so a second pass re-reads the database after the swap and records whatever changed: every
    submit committed before that read is in it, every later one records itself on the new keys."""
    await get_round(db, round_id)
    board = RoundBoard(redis, BoardKeys(round_id, LIVE))
    async with _Lock(redis, board.keys.lock):
        first = best_per_user(await _current_results(db, round_id), live_key)
        await board.replace_all([live_entry(r) for r in first.values()])
        second = best_per_user(await _current_results(db, round_id), live_key)
        changed = [r for uid, r in second.items() if first.get(uid) != r]
        await asyncio.gather(*(board.record(live_entry(r)) for r in changed))
        return len(second)


async def publish_final_board(db: AsyncSession, redis, round_id: int, truth: int | None) -> int:
    """Writes the round's final board; its score is the final position. Once the round is frozen
    the board is the latest snapshot, row for row (never recomputed: what the judges froze and
    exported is what the public sees, after any Redis loss); before, the final ranking computed
    from the database with `truth`. Returns the number of participants."""
    board = RoundBoard(redis, BoardKeys(round_id, FINAL))
    async with _Lock(redis, board.keys.lock):
        snapshot = await latest_snapshot(db, round_id)
        if snapshot is not None:
            ranking = [row async for row in iter_rows(db, snapshot.id)]
            truth = snapshot.truth if snapshot.truth is not None else truth
        else:
            ranking = await final_ranking(db, round_id, truth)
        await db.commit()  # see _current_results
        # T travels with the board (swapped in with it), so a reader never sees one T's order
        # under another T's header, whatever process it asks.
        meta = {"truth": str(truth)} if truth is not None else None
        await board.replace_all([final_entry(e) for e in ranking], meta)
        return len(ranking)


async def rebuild_boards(db: AsyncSession, redis, round_id: int) -> RebuildReport:
    """What the admin console and `python -m app rebuild-board` call: the live board, and the
    final board too once T is stored on the round."""
    live = await rebuild_live_board(db, redis, round_id)
    db.expire_all()  # T may have been stored since this session first read the round
    round_ = await get_round(db, round_id)
    await db.commit()
    final = None
    if round_.prediction_truth is not None:
        final = await publish_final_board(db, redis, round_id, round_.prediction_truth)
    return RebuildReport(round_id, live, final)


# --- repair ------------------------------------------------------------------------------------
# Self-repair after Redis lost the boards (a restart without persistence, a flush, eviction).
#
# A board's version key exists from its first record or rebuild on, so a missing version means
# either a round nobody has submitted in yet or a lost board. Either way a rebuild from the
# database (the record) is right, and cheap for the first case. Called on the next submit and the
# next read, so the board heals itself without an operator.


log = logging.getLogger(__name__)


async def repair_if_lost(db: AsyncSession, redis, round_id: int) -> bool:
    """Rebuilds the round's live board (and its final board, once published) if Redis lost it.
    True if it rebuilt the live board, which then holds every attempt committed before the call."""
    live_version, final_version = await redis.mget(
        BoardKeys(round_id, LIVE).version, BoardKeys(round_id, FINAL).version
    )
    if live_version is not None:
        return False
    try:
        participants = await rebuild_live_board(db, redis, round_id)
        round_ = await get_round(db, round_id)
        if round_.prediction_truth is not None and final_version is None:
            await publish_final_board(db, redis, round_id, round_.prediction_truth)
    except RebuildInProgress:
        return False  # another process is rebuilding it right now
    if participants:
        log.warning(
            "leaderboard of round %s was missing in Redis; rebuilt from the database (%d participants)",
            round_id,
            participants,
        )
    return True


# --- recording ---------------------------------------------------------------------------------
# The one call the attempt service makes when an attempt closes: put it on the live board.


def result_of(figures: Mapping[str, Any]) -> tuple[int, Result] | None:
    """`load_result` from the figures the closing statement returned (app/attempts/statements.py:
    the closed row, its owner's display fields, their exclusion): None when not on any board."""
    if figures["excluded"] or figures["status"] != SUBMITTED:
        return None
    return figures["round_id"], Result(
        attempt_id=figures["id"],
        user_id=figures["user_id"],
        correct=figures["correct"] or 0,
        total=figures["total"],
        time_ms=figures["time_ms"] or 0,
        submitted_at=figures["submitted_at"],
        prediction=figures["prediction"],
        full_name=figures["full_name"],
        unit=figures["unit"],
        province=figures["province"],
        district=figures["district"],
        commune=figures["commune"],
    )


async def record_closed_attempt(
    db: AsyncSession, redis, attempt_id: int, figures: Mapping[str, Any] | None = None
) -> None:
    """Never raises: the submit is already committed and must succeed whatever Redis does; a
    missed update is repaired by `python -m app rebuild-board`. `figures`: what the closing
    statement returned (then nothing is read from the database), None: read here.

    Reads through the caller's session (one Core query: no ORM object is loaded or changed) and
    ends that read's transaction before Redis is called. Not a second session: under load every
    request already holds one pooled connection, and waiting for a second one while holding the
    first is how a busy pool runs dry (seen in the 10,000-submit benchmark)."""
    try:
        if figures is not None:
            found = result_of(figures)
        else:
            try:
                await reads_outside_transaction(db)  # one read: no BEGIN/COMMIT round trips around it
                found = await load_result(db, attempt_id)
            finally:
                await db.commit()
        if found is not None:
            round_id, result = found
            board, entry = RoundBoard(redis, BoardKeys(round_id, LIVE)), live_entry(result)
            # One round trip in the usual case; the script itself says if the board was lost.
            if await board.record_if_present(entry) is not None:
                return
            async with AsyncSession(db.bind, expire_on_commit=False) as own:
                if await repair_if_lost(own, redis, round_id):
                    return  # the rebuild read this attempt from the database
            await board.record(entry)
    except Exception:
        log.exception("live board not updated for attempt %s (rebuild-board repairs it)", attempt_id)
        try:
            await db.rollback()
        except Exception:  # the connection itself may be gone; the caller's next use reconnects
            pass


# --- closing the books on a round: T stored on the round, final board published ---------------


class RoundNotClosed(Conflict):
    def __init__(self):
        super().__init__("round_not_closed", "Đợt thi chưa kết thúc: chỉ chốt kết quả sau khi đợt thi đóng.")


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
