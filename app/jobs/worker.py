"""The worker: `python -m app worker` in production (its own process, next to the web workers),
or `InProcessWorker` inside the web process on the embedded defaults (`make run` stays one
command). Both are the same SAQ worker with the same functions and periodic jobs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
from dataclasses import dataclass
from typing import Any

from saq import CronJob, Worker

from app.config import Settings
from app.jobs.queue import JobQueue
from app.jobs.tasks import FUNCTIONS, expire_task, sweep_task

log = logging.getLogger("app.jobs")


@dataclass
class WorkerResources:
    """What job functions use: the process's database, Redis and attempt caches."""

    settings: Settings
    sessionmaker: Any
    redis: Any
    board_redis: Any
    attempt_cache: Any
    option_tokens: Any


def sweep_cron(seconds: float) -> str:
    """SWEEP_INTERVAL_SECONDS as a cron line (croniter's 6th field is seconds). Cron ticks are
    the same instants on every worker, and SAQ queues a periodic job under one key per function,
    so each tick runs once for the whole fleet whatever the number of workers."""
    s = max(1, math.ceil(seconds))
    if s < 60:
        return f"* * * * * */{s}"
    return f"*/{max(1, min(59, s // 60))} * * * *"


def cron_jobs(settings: Settings) -> list[CronJob]:
    jobs = [CronJob(expire_task, cron="7 * * * *", unique=True, timeout=300, retries=2)]
    if settings.sweep_interval_seconds > 0:
        jobs.append(
            CronJob(
                sweep_task,
                cron=sweep_cron(settings.sweep_interval_seconds),
                unique=True,
                timeout=600,
                retries=2,
                heartbeat=0,
            )
        )
    return jobs


def build_worker(queue: JobQueue, resources: WorkerResources, *, in_process: bool = False) -> Worker:
    settings = resources.settings
    worker_class = _QuietWorker if in_process else Worker
    worker = worker_class(
        queue.saq,
        FUNCTIONS,
        id=f"{socket.gethostname()}:{os.getpid()}",
        concurrency=settings.worker_concurrency,
        cron_jobs=cron_jobs(settings),
        # sweep: how soon a job whose worker died (no heartbeat) is handed to another worker.
        timers={"sweep": max(1, settings.jobs_sweep_seconds), "schedule": 1, "abort": 1, "worker_info": 10},
        shutdown_grace_period_s=30,
        dequeue_timeout=1.0,
    )
    worker.context["resources"] = resources
    return worker


class _QuietWorker(Worker):
    # Inside uvicorn: leave SIGINT/SIGTERM to the server, which stops us from its lifespan.
    SIGNALS: list = []


class InProcessWorker:
    """The embedded mode's worker, started and stopped by the web app's lifespan."""

    def __init__(self, queue: JobQueue, resources: WorkerResources):
        self.worker = build_worker(queue, resources, in_process=True)
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.worker.start())

    async def stop(self) -> None:
        await self.worker.stop()
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task


async def run_worker(settings: Settings) -> int:
    """`python -m app worker`: runs jobs until SIGTERM/SIGINT (a running job is given its
    shutdown grace, then handed back to the queue)."""
    from app import models  # noqa: F401
    from app.attempts.cache import AttemptCache
    from app.attempts.tokens import OptionTokens
    from app.core.db import create_engine, make_sessionmaker
    from app.core.logs import configure_logging
    from app.core.redis import create_redis
    from app.leaderboard.connection import create_board_redis

    configure_logging(settings.log_format, settings.log_level, settings.access_log)
    engine = create_engine(settings)
    redis = create_redis(settings)
    board_redis = create_board_redis(settings, redis)
    queue = JobQueue(settings)
    await queue.connect()
    sessions = make_sessionmaker(engine)
    resources = WorkerResources(
        settings=settings,
        sessionmaker=sessions,
        redis=redis,
        board_redis=board_redis,
        attempt_cache=AttemptCache(redis, settings.attempt_cache_ttl_seconds),
        option_tokens=OptionTokens(settings.effective_secret_key),
    )
    worker = build_worker(queue, resources)
    log.info("worker %s started (concurrency %d)", worker.id, settings.worker_concurrency)
    try:
        await worker.start()
    finally:
        await queue.close()
        await board_redis.aclose()
        await redis.aclose()
        await engine.dispose()
    return 0
