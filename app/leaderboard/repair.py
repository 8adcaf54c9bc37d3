"""Self-repair after Redis lost the boards (a restart without persistence, a flush, eviction).

A board's version key exists from its first record or rebuild on, so a missing version means
either a round nobody has submitted in yet or a lost board. Either way a rebuild from the
database (the record) is right, and cheap for the first case. Called on the next submit and the
next read, so the board heals itself without an operator.
"""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.contests.service import get_round
from app.leaderboard.keys import FINAL, LIVE, BoardKeys
from app.leaderboard.rebuild import RebuildInProgress, publish_final_board, rebuild_live_board

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
