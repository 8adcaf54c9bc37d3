"""Tracked jobs: background work whose database record a worker updates as it goes (an export,
a large bank import), so that any host can show its progress.

A record can outlive its worker: a job never picked up (no worker running) or lost by every
worker that took it (each killed mid-way). The page would then refresh forever, so reading a
record weighs its silence and tells the truth instead. The features keep their own records and
messages; this module holds the rule they share.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import update

from app.core.clock import utcnow
from app.core.runtime import Runtime

log = logging.getLogger("app.jobs")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
# A job not finished this long after it was asked for will not finish (no worker running, or
# every attempt lost): say so instead of letting the progress page refresh forever.
STALE_SECONDS = 15 * 60


class TrackedRecord(Protocol):
    status: str
    created_at: datetime
    updated_at: datetime
    expires_at: datetime


class Pending(Protocol):
    @property
    def pending(self) -> bool: ...


Job = TypeVar("Job", bound=Pending)


async def load_record(runtime: Runtime, model: Any, record_id: str, db: Any = None) -> Any | None:
    """The record, or None when unknown or expired. In a request, pass its session `db` (on
    SQLite a second session would wait for the first one's lock)."""
    if db is not None:
        rec = await db.get(model, record_id, populate_existing=True)
    else:
        async with runtime.sessionmaker() as own:
            rec = await own.get(model, record_id)
    if rec is None or rec.expires_at <= utcnow():
        return None
    return rec


async def set_fields(sessionmaker: Any, model: Any, record_id: str, **values: Any) -> None:
    """Updates a record in a transaction of its own (progress, status, the final error)."""
    async with sessionmaker() as db:
        await db.execute(update(model).where(model.id == record_id).values(**values))
        await db.commit()


async def wait_settled(read: Callable[[], Awaitable[Job | None]], timeout: float) -> Job | None:
    """Polls until the job is no longer pending, gone, or `timeout` seconds passed (tests, scripts)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await read()
        if job is None or not job.pending or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.1)


async def overdue_verdict(
    runtime: Runtime, rec: TrackedRecord, queue_key: str, *, stale_message: str, lost_message: str
) -> tuple[str | None, str | None]:
    """(status, error) to show instead of the record's own when a pending job will not finish,
    else (None, None): the record says it as it is."""
    if rec.status not in (QUEUED, RUNNING):
        return None, None
    now = utcnow()
    if (now - rec.created_at).total_seconds() > STALE_SECONDS:
        return FAILED, stale_message
    settings = runtime.settings
    # Silent for longer than its worker would be: ask the queue whether anyone still has it.
    silent = (now - rec.updated_at).total_seconds()
    if rec.status == RUNNING and silent > 2 * settings.job_heartbeat_seconds + 2 * settings.jobs_sweep_seconds:
        try:
            lost = await runtime.jobs.lost(queue_key)
        except Exception:  # the queue unreachable: keep showing progress, ask again next time
            log.exception("%s: queue state unknown", queue_key)
            return None, None
        if lost:
            return FAILED, lost_message
    return None, None
