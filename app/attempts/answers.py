"""Committing accepted answers: the hot path of a contest (every participant sends ~20).

An answer is acknowledged only once it is committed to the database, and it is committed only
while its attempt is still in progress. A shared row lock on the attempt orders the save against a
concurrent submit or sweep (whose UPDATE takes a stronger lock): either the answer is committed
first and graded, or the attempt is already closed and the save is refused. Nothing acknowledged
is ever lost or left ungraded. Redis plays no part in that promise.

Group commit. A save does not get a database round trip of its own: each worker process has one
`AnswerWriter`, which gathers the saves that arrive while its previous batch is in flight (or, when
idle, those of the same event-loop turn: there is no timer) and commits them together in ONE
statement, i.e. one transaction and one WAL flush:

    WITH items AS (SELECT ... FROM unnest($1, $2, $3, $4)),
         open_attempt AS (SELECT id, deadline FROM attempts WHERE id = ANY(...) AND status = 'in_progress' FOR SHARE)
    INSERT INTO attempt_answers ... SELECT ... FROM items JOIN open_attempt ... (answered by deadline + grace)
    ON CONFLICT ... DO UPDATE
    RETURNING attempt_id, question_id

Every request waits for its own batch's commit and gets its own result from RETURNING: saved, or
refused because its attempt was closed (the other items of the batch are unaffected). If the
statement fails, nothing of the batch was written and every one of its requests gets 503. Items
are sorted by (attempt, question) so two batches in flight lock rows in the same order (no
deadlock), and a second save of the same (attempt, question) waits for the next batch (an upsert
cannot touch one row twice). After the commit, one Redis pipeline updates the cached attempts of
the whole batch before anyone is answered, so a resume right after an acknowledgement shows it.

The statement goes straight to the asyncpg connection (a prepared statement asyncpg caches per
connection): the README's profile showed SQLAlchemy's execution machinery costing more CPU than
the statement itself. SQLite (the embedded default) runs the same batches as one BEGIN IMMEDIATE
transaction, one batch at a time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.attempts.cache import SET_IF_CACHED, AttemptCache, attempt_key
from app.attempts.models import IN_PROGRESS, Attempt, AttemptAnswer
from app.attempts.statements import ConnectionLost, driver
from app.core.errors import AppError

log = logging.getLogger(__name__)


_SAVE_BATCH_PG = """
WITH items AS (
    SELECT * FROM unnest($1::int[], $2::int[], $3::int[], $4::timestamptz[])
        AS t(attempt_id, question_id, option_id, answered_at)
), open_attempt AS (
    SELECT id, deadline FROM attempts WHERE id = ANY($1::int[]) AND status = $5 ORDER BY id FOR SHARE
)
INSERT INTO attempt_answers (attempt_id, question_id, option_id, answered_at)
SELECT i.attempt_id, i.question_id, i.option_id, i.answered_at
FROM items i JOIN open_attempt o ON o.id = i.attempt_id AND i.answered_at <= o.deadline + $6::interval
ORDER BY i.attempt_id, i.question_id
ON CONFLICT (attempt_id, question_id)
DO UPDATE SET option_id = EXCLUDED.option_id, answered_at = EXCLUDED.answered_at
RETURNING attempt_id, question_id
"""


class AnswersNotSaved(AppError):
    """The batch's statement failed: nothing of it was written, nothing is acknowledged."""

    def __init__(self):
        super().__init__(
            "service_unavailable",
            "Hệ thống đang tạm thời gián đoạn: câu trả lời này chưa được lưu, vui lòng thử lại "
            "(chọn lại phương án) sau ít giây. Các câu trả lời đã lưu trước đó không bị mất.",
            503,
            headers={"Retry-After": "5"},
        )


@dataclass
class _Save:
    attempt_id: int
    question_id: int
    option_id: int
    answered_at: datetime
    done: asyncio.Future = field(repr=False)

    @property
    def key(self) -> tuple[int, int]:
        return self.attempt_id, self.question_id


class AnswerWriter:
    """One per worker process: group commit of answer saves (see the module docstring)."""

    def __init__(
        self,
        engine: AsyncEngine,
        cache: AttemptCache,
        *,
        grace: timedelta,
        max_batch: int = 500,
        max_in_flight: int = 2,
    ):
        self.engine = engine
        # A save is refused once its time passes the attempt's deadline *as stored* + grace: the
        # database, not a possibly stale cache, decides (an organizer may have moved it earlier).
        self.grace = grace
        self.cache = cache
        self.max_batch = max_batch
        self.postgres = engine.dialect.name == "postgresql"
        # SQLite has one writer at a time anyway (BEGIN IMMEDIATE): batches would only queue.
        self.max_in_flight = max_in_flight if self.postgres else 1
        self._sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
        self._pending: list[_Save] = []
        self._in_flight = 0
        self._tasks: set[asyncio.Task] = set()
        self.batches = 0  # committed or failed statements, for tests and the curious
        # Told how long each save took (enqueue to answer): the waiting room's load signal.
        self.observe: Callable[[float], None] | None = None

    async def save(self, attempt_id: int, question_id: int, option_id: int, answered_at: datetime) -> bool:
        """Durably records the answer; False (nothing written) if the attempt is no longer in
        progress. Raises AnswersNotSaved (503) if its batch could not be committed."""
        done = asyncio.get_running_loop().create_future()
        done.add_done_callback(_retrieved)  # a request that went away leaves no "never retrieved" noise
        self._pending.append(_Save(attempt_id, question_id, option_id, answered_at, done))
        self._start_flusher()
        # shield: a client that hangs up must not cancel the commit other requests wait for.
        if self.observe is None:
            return await asyncio.shield(done)
        started = time.perf_counter()
        try:
            return await asyncio.shield(done)
        finally:
            self.observe(time.perf_counter() - started)

    async def drain(self) -> None:
        """Waits for every batch in flight (graceful shutdown lets in-flight saves finish)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def _start_flusher(self) -> None:
        if self._pending and self._in_flight < self.max_in_flight:
            self._in_flight += 1
            # A task, not a call: it runs after the requests already woken in this loop turn have
            # queued their saves, so they share the batch without any timer.
            task = asyncio.get_running_loop().create_task(self._flush_while_pending())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _flush_while_pending(self) -> None:
        try:
            while batch := self._take_batch():
                await self._flush(batch)
        finally:
            self._in_flight -= 1
            self._start_flusher()  # anything queued in the meantime

    def _take_batch(self) -> list[_Save]:
        batch: dict[tuple[int, int], _Save] = {}
        rest: list[_Save] = []
        for item in self._pending:
            if item.key in batch or len(batch) >= self.max_batch:
                rest.append(item)  # the same question again: the next batch keeps the order
            else:
                batch[item.key] = item
        self._pending = rest
        return sorted(batch.values(), key=lambda s: s.key)

    async def _flush(self, batch: list[_Save]) -> None:
        self.batches += 1
        try:
            saved = await (self._commit_postgresql(batch) if self.postgres else self._commit_generic(batch))
        except Exception:
            log.exception("answer batch of %d not committed", len(batch))
            for item in batch:
                _settle(item.done, exception=AnswersNotSaved())
            return
        try:
            await self._update_cache(batch, saved)
        except Exception as exc:  # noqa: BLE001
            # Committed, but the cached attempts may now lack these answers: answer as the
            # failing dependency (503, via the app's handlers); a retry is idempotent.
            for item in batch:
                _settle(item.done, exception=exc)
            return
        for item in batch:
            _settle(item.done, result=item.key in saved)

    async def _commit_postgresql(self, batch: list[_Save]) -> set[tuple[int, int]]:
        args = (
            [s.attempt_id for s in batch],
            [s.question_id for s in batch],
            [s.option_id for s in batch],
            [s.answered_at for s in batch],
            IN_PROGRESS,
            self.grace,
        )
        for last_try in (False, True):
            # Outside any transaction SQLAlchemy knows of: the statement is its own transaction
            # (asyncpg's implicit one), so the attempt locks are held exactly until the answers
            # are durable, and the pool's reset on return is a no-op.
            try:
                async with driver(self.engine) as conn:
                    rows = await conn.fetch(_SAVE_BATCH_PG, *args)
            except ConnectionLost as lost:
                # The pooled connection was dead (database restarted, connection cut): it has
                # been discarded. The statement is idempotent, so it runs once more on a fresh
                # connection; a second failure is a database outage (503, nothing acknowledged).
                if last_try:
                    raise OperationalError(_SAVE_BATCH_PG, None, lost.__cause__ or lost) from lost.__cause__
                continue
            return {(r[0], r[1]) for r in rows}
        raise AssertionError("unreachable")

    async def _commit_generic(self, batch: list[_Save]) -> set[tuple[int, int]]:
        # SQLite: every write transaction starts with BEGIN IMMEDIATE (app.core.db), which
        # serializes it against a submit; the status read inside it is therefore current.
        async with self._sessionmaker() as db:
            return await commit_batch_in(db, batch, self.grace)

    async def _update_cache(self, batch: list[_Save], saved: set[tuple[int, int]]) -> None:
        if len(batch) == 1 and batch[0].key in saved:
            # A batch of one (every save outside a rush): the script alone, not a pipeline's
            # machinery around it.
            item = batch[0]
            await self.cache.set_answer(item.attempt_id, item.question_id, item.option_id)
            return
        async with self.cache.redis.pipeline(transaction=False) as pipe:
            refused: set[int] = set()
            for item in batch:
                key = attempt_key(item.attempt_id)
                if item.key in saved:
                    pipe.eval(SET_IF_CACHED, 1, key, f"a:{item.question_id}", item.option_id)
                elif item.attempt_id not in refused:
                    refused.add(item.attempt_id)
                    pipe.delete(key)  # closed: the next read refills it from the database
            await pipe.execute()


async def commit_batch_in(db: AsyncSession, batch: list[_Save], grace: timedelta) -> set[tuple[int, int]]:
    """The portable batch (SQLite): lock, upsert and commit in the session's transaction."""
    ids = sorted({s.attempt_id for s in batch})
    deadlines = dict(
        (
            await db.execute(
                select(Attempt.id, Attempt.deadline)
                .where(Attempt.id.in_(ids), Attempt.status == IN_PROGRESS)
                .with_for_update(read=True)
            )
        ).all()
    )
    rows: list[dict[str, Any]] = [
        {
            "attempt_id": s.attempt_id,
            "question_id": s.question_id,
            "option_id": s.option_id,
            "answered_at": s.answered_at,
        }
        for s in batch
        if s.attempt_id in deadlines and s.answered_at <= deadlines[s.attempt_id] + grace
    ]
    if rows:
        # A declarative class's __table__ is its Table; the stubs only know a FromClause.
        stmt = sqlite_insert(cast(Table, AttemptAnswer.__table__)).values(rows)
        await db.execute(
            stmt.on_conflict_do_update(
                index_elements=["attempt_id", "question_id"],
                set_={"option_id": stmt.excluded.option_id, "answered_at": stmt.excluded.answered_at},
            )
        )
    await db.commit()
    return {(r["attempt_id"], r["question_id"]) for r in rows}


def _retrieved(done: asyncio.Future) -> None:
    if not done.cancelled():
        done.exception()


def _settle(done: asyncio.Future, *, result=None, exception: BaseException | None = None) -> None:
    if done.done():  # its request went away; what it asked for is settled all the same
        return
    if exception is not None:
        done.set_exception(exception)
    else:
        done.set_result(result)
