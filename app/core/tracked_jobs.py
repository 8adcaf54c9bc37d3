"""Tracked jobs: background work whose database record a worker updates as it goes (an export,
a large bank import), so that any host can show its progress.

A record can outlive its worker: a job never picked up (no worker running) or lost by every
worker that took it (each killed mid-way). The page would then refresh forever, so reading a
record weighs its silence and tells the truth instead. The features keep their own records and
messages; this module holds the rule they share.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

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
