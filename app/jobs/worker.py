"""The worker: `python -m app worker` in production (its own process, next to the web workers;
app/cli.py builds its Runtime), or `InProcessWorker` inside the web process on the embedded
defaults (`make run` stays one command). Both are the same SAQ worker with the same functions
and periodic jobs; job functions find the process's Runtime in `ctx["runtime"]`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import socket
from collections.abc import Awaitable, Callable

from saq import CronJob, Worker
from saq.types import Context

from app.config import Settings
from app.core.runtime import Runtime
from app.jobs.tasks import FUNCTIONS, expire_task, sweep_task

log = logging.getLogger("app.jobs")


def sweep_cron(seconds: float) -> str:
    """SWEEP_INTERVAL_SECONDS as a cron line (croniter's 6th field is seconds). Cron ticks are
    the same instants on every worker, and SAQ queues a periodic job under one key per function
    (and per queue: `of_queue`), so each tick runs once for the whole fleet whatever the number of workers."""
    s = max(1, math.ceil(seconds))
    if s < 60:
        return f"* * * * * */{s}"
    return f"*/{max(1, min(59, s // 60))} * * * *"


def of_queue(task: Callable[[Context], Awaitable[int]], queue: str) -> Callable[[Context], Awaitable[int]]:
    """The periodic task under a name of this queue's own. SAQ queues a periodic job under the key
    `cron:<function name>`, and its PostgreSQL table keys jobs by that key alone, whatever the
    queue: two queues sharing one database (two deployments, a test app and a test's workers)
    took each other's ticks, and one of them swept only when the other let it."""

    async def periodic(ctx: Context) -> int:
        return await task(ctx)

    periodic.__name__ = periodic.__qualname__ = f"{task.__qualname__}@{queue}"
    return periodic


def periodic_functions(settings: Settings) -> dict[str, Callable[[Context], Awaitable[int]]]:
    """The periodic tasks under this queue's names. Every worker of the queue can run them, even
    one that does not schedule the sweep itself (SWEEP_INTERVAL_SECONDS=0): a tick another
    process queued may reach any worker of the queue."""
    return {task.__qualname__: of_queue(task, settings.jobs_queue) for task in (sweep_task, expire_task)}


def cron_jobs(settings: Settings) -> list[CronJob]:
    periodic = periodic_functions(settings)
    jobs = [CronJob(periodic["expire_task"], cron="7 * * * *", unique=True, timeout=300, retries=2)]
    if settings.sweep_interval_seconds > 0:
        jobs.append(
            CronJob(
                periodic["sweep_task"],
                cron=sweep_cron(settings.sweep_interval_seconds),
                unique=True,
                timeout=600,
                retries=2,
                heartbeat=0,
            )
        )
    return jobs


def yield_cpu(settings: Settings) -> str:
    """Makes this process (the worker) give the CPU to the web workers of its host; returns what
    it did, for the log. SCHED_IDLE (Linux) rather than nice alone: a nice-10 process still gets
    about a tenth of a busy core and may finish its time slice before a waking web worker runs;
    an idle-class one gets only what nobody else wants and is preempted at once. Set on every
    thread already running; threads started later (the export's, psycopg's) inherit it."""
    if settings.worker_nice <= 0:
        return "normal priority (WORKER_NICE=0)"
    if settings.worker_idle_class and hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE"):
        try:
            threads = [int(t) for t in os.listdir("/proc/self/task")] if os.path.isdir("/proc/self/task") else [0]
            for tid in threads:
                os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
            return "idle scheduling class (SCHED_IDLE)"
        except OSError as error:  # a container's seccomp profile may refuse it: fall back to nice
            log.warning("SCHED_IDLE refused (%s): falling back to nice %d", error, settings.worker_nice)
    os.nice(settings.worker_nice)
    return f"nice {settings.worker_nice}"


class _QuietWorker(Worker):
    # Inside uvicorn: leave SIGINT/SIGTERM to the server, which stops us from its lifespan.
    SIGNALS: list = []


def build_worker(runtime: Runtime, *, in_process: bool = False) -> Worker:
    settings = runtime.settings
    worker_class = _QuietWorker if in_process else Worker
    worker = worker_class(
        runtime.jobs.saq,
        [*FUNCTIONS, *periodic_functions(settings).values()],
        id=f"{socket.gethostname()}:{os.getpid()}",
        concurrency=settings.worker_concurrency,
        cron_jobs=cron_jobs(settings),
        # sweep: how soon a job whose worker died (no heartbeat) is handed to another worker.
        timers={"sweep": max(1, settings.jobs_sweep_seconds), "schedule": 1, "abort": 1, "worker_info": 10},
        shutdown_grace_period_s=30,
        dequeue_timeout=1.0,
    )
    worker.context["runtime"] = runtime
    return worker


class InProcessWorker:
    """The embedded mode's worker, started and stopped by the web app's lifespan."""

    def __init__(self, runtime: Runtime):
        self.worker = build_worker(runtime, in_process=True)
        self.task: asyncio.Task | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.worker.start())

    async def stop(self) -> None:
        await self.worker.stop()
        if self.task:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
