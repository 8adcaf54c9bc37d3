"""Committing one accepted answer: the hot path of a contest (every participant sends ~20).

The answer is acknowledged only after this returns True, i.e. once it is committed to the
database, and it is committed only while the attempt is still in progress. A shared row lock on
the attempt orders the save against a concurrent submit or sweep (whose UPDATE takes a stronger
lock): either the answer is committed first and graded, or the attempt is already closed and the
save is refused. Nothing acknowledged is ever lost or left ungraded.

On PostgreSQL that is ONE statement outside any explicit transaction (lock, upsert and commit in
a single round trip, instead of BEGIN / SELECT ... FOR SHARE / INSERT / COMMIT); a statement is
its own transaction, so the lock is held exactly until the answer is durable. It goes straight to
the asyncpg connection (a prepared statement asyncpg caches per connection): the profile in the
README showed SQLAlchemy's execution machinery costing more CPU than the statement itself.
"""
from __future__ import annotations

from datetime import datetime

from asyncpg import exceptions as pg
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.models import IN_PROGRESS, Attempt, AttemptAnswer
from app.core.db import upsert_statement

_CONNECTION_LOST = (OSError, pg.InterfaceError, pg.PostgresConnectionError, pg.AdminShutdownError,
                    pg.CrashShutdownError, pg.CannotConnectNowError)

_SAVE_PG = """
WITH open_attempt AS (
    SELECT id FROM attempts WHERE id = $1 AND status = $2 FOR SHARE
)
INSERT INTO attempt_answers (attempt_id, question_id, option_id, answered_at)
SELECT id, $3, $4, $5 FROM open_attempt
ON CONFLICT (attempt_id, question_id)
DO UPDATE SET option_id = EXCLUDED.option_id, answered_at = EXCLUDED.answered_at
RETURNING attempt_id
"""


async def commit_answer(db: AsyncSession, attempt_id: int, question_id: int, option_id: int,
                        answered_at: datetime) -> bool:
    """Durably records the answer; False (nothing written) if the attempt is no longer in progress."""
    if db.bind.dialect.name == "postgresql":
        return await _commit_answer_postgresql(db, attempt_id, question_id, option_id, answered_at)
    return await _commit_answer_generic(db, attempt_id, question_id, option_id, answered_at)


async def _commit_answer_postgresql(db: AsyncSession, attempt_id: int, question_id: int, option_id: int,
                                    answered_at: datetime) -> bool:
    # Whatever the session read before (a cache refill) is finished: this statement is its own
    # transaction on a connection of its own, held for one round trip.
    await db.rollback()
    for last_try in (False, True):
        # SQLAlchemy opens a transaction only for statements it executes itself; this one runs in
        # asyncpg's implicit single-statement transaction, and the pool's reset on return is a no-op.
        async with db.bind.connect() as conn:
            driver = (await conn.get_raw_connection()).driver_connection
            try:
                saved = await driver.fetchval(_SAVE_PG, attempt_id, IN_PROGRESS, question_id, option_id,
                                              answered_at)
            except Exception as exc:
                if not (isinstance(exc, _CONNECTION_LOST) or driver.is_closed()):
                    raise
                # The pooled connection was dead (database restarted, connection cut): SQLAlchemy
                # never saw this statement, so discard the connection here. The statement is
                # idempotent, so it runs once more on a fresh connection; a second failure is a
                # database outage, answered 503 like any other (nothing acknowledged).
                await conn.invalidate(exc)
                if last_try:
                    raise OperationalError(_SAVE_PG, None, exc) from exc
                continue
            return saved is not None
    raise AssertionError("unreachable")


async def _commit_answer_generic(db: AsyncSession, attempt_id: int, question_id: int, option_id: int,
                                 answered_at: datetime) -> bool:
    # SQLite: every write transaction starts with BEGIN IMMEDIATE (app.core.db), which serializes
    # it against a submit; the status read inside it is therefore current.
    status = await db.scalar(select(Attempt.status).where(Attempt.id == attempt_id).with_for_update(read=True))
    if status != IN_PROGRESS:
        await db.rollback()
        return False
    await db.execute(upsert_statement(
        db.bind.dialect.name, AttemptAnswer.__table__,
        {"attempt_id": attempt_id, "question_id": question_id, "option_id": option_id,
         "answered_at": answered_at},
        ["attempt_id", "question_id"], ["option_id", "answered_at"],
    ))
    await db.commit()
    return True
