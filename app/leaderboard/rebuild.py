"""Rebuilding boards from the database, the record: after a Redis loss, an incident, or to
publish the final board."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.service import get_round
from app.core.errors import Conflict
from app.judging.frozen import iter_rows, latest_snapshot
from app.leaderboard.board import RoundBoard
from app.leaderboard.entries import final_entry, live_entry
from app.leaderboard.final import final_ranking
from app.leaderboard.keys import FINAL, LIVE, BoardKeys
from app.leaderboard.ordering import Result, best_per_user, live_key
from app.leaderboard.results import load_results

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
