"""The one call the attempt service makes when an attempt closes: put it on the live board."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession

from app.leaderboard.board import RoundBoard
from app.leaderboard.entries import live_entry
from app.leaderboard.keys import LIVE, BoardKeys
from app.leaderboard.repair import repair_if_lost
from app.leaderboard.results import load_result

log = logging.getLogger(__name__)


async def record_closed_attempt(db: AsyncSession, redis, attempt_id: int) -> None:
    """Never raises: the submit is already committed and must succeed whatever Redis does; a
    missed update is repaired by `python -m app rebuild-board`.

    Reads through the caller's session (one Core query: no ORM object is loaded or changed) and
    ends that read's transaction before Redis is called. Not a second session: under load every
    request already holds one pooled connection, and waiting for a second one while holding the
    first is how a busy pool runs dry (seen in the 10,000-submit benchmark)."""
    try:
        try:
            found = await load_result(db, attempt_id)
        finally:
            await db.commit()
        if found is not None:
            round_id, result = found
            async with AsyncSession(db.bind, expire_on_commit=False) as own:
                if await repair_if_lost(own, redis, round_id):
                    return  # the rebuild read this attempt from the database
            await RoundBoard(redis, BoardKeys(round_id, LIVE)).record(live_entry(result))
    except Exception:
        log.exception("live board not updated for attempt %s (rebuild-board repairs it)", attempt_id)
        try:
            await db.rollback()
        except Exception:  # the connection itself may be gone; the caller's next use reconnects
            pass
