"""The job functions the worker runs. Each takes SAQ's context (`ctx["runtime"]`: the process's
Runtime, app/core/runtime.py; `ctx["job"]`: the SAQ job) and delegates to its feature: the logic
stays in plain functions that the CLI and tests call too."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("app.jobs")


async def export_task(ctx, *, export_id: str) -> str:
    from app.exports import jobs as exports

    runtime, job = ctx["runtime"], ctx["job"]

    async def heartbeat() -> None:
        await job.update()  # SAQ's "touched": a silent job is swept and retried elsewhere

    return await exports.run(
        runtime.sessionmaker,
        runtime.settings,
        export_id,
        heartbeat,
        last_attempt=job.attempts >= job.retries,
    )


async def bank_import_task(ctx, *, import_id: str) -> str:
    """A large bank upload (app/questions/import_jobs.py): idempotent, so a retry after a worker
    died never imports twice."""
    from app.questions import import_jobs

    runtime, job = ctx["runtime"], ctx["job"]

    async def heartbeat() -> None:
        await job.update()

    return await import_jobs.run(
        runtime.sessionmaker, runtime.settings, import_id, heartbeat, last_attempt=job.attempts >= job.retries
    )


async def sweep_task(ctx) -> int:
    """Closes attempts whose deadline passed while their owners were away. Each attempt closes in
    its own transaction (score, status and answers together), so a sweep stopped half-way
    leaves attempts either closed or untouched, and the next sweep closes the rest."""
    from app.attempts.service import AttemptDeps, close_all_expired

    runtime = ctx["runtime"]
    tick = getattr(ctx.get("job"), "scheduled", 0)
    # SAQ's PostgreSQL queue runs a cron tick once; its Redis queue (embedded) may hand the same
    # tick to a second worker once the first has finished it. Claim the tick: once per fleet (per
    # queue: two deployments, or a test and its own workers, may share one Redis).
    if tick and not await runtime.redis.set(f"sweep:tick:{runtime.settings.jobs_queue}:{tick}", "1", nx=True, ex=3600):
        return 0
    closed = total = 0
    async with runtime.sessionmaker() as db:
        deps = AttemptDeps.of(runtime, db)
        # Batches until none is left: the end of a 132,106-person round closes thousands at once.
        for _ in range(1000):
            closed = await close_all_expired(deps)
            total += closed
            if not closed:
                break
    # One line per tick for the whole fleet (SAQ runs each scheduled tick once): the log shows
    # the sweep is alive, and which tick each worker ran.
    log.info("sweep tick %s closed %d expired attempts", tick, total)
    return total


async def expire_task(ctx) -> int:
    from app.exports import jobs as exports
    from app.questions import import_jobs

    deleted = await exports.expire(ctx["runtime"].sessionmaker)
    if deleted:
        log.info("expired %d exports", deleted)
    imports = await import_jobs.expire(ctx["runtime"].sessionmaker)
    if imports:
        log.info("expired %d bank import records", imports)
    return deleted + imports


async def rebuild_board_task(ctx, *, round_id: int) -> dict:
    """Rebuilds a round's boards from the database (after a Redis loss): minutes for a national
    round, so on a worker, not in a request or an operator's terminal."""
    from app.leaderboard.rebuild import rebuild_boards

    runtime = ctx["runtime"]
    async with runtime.sessionmaker() as db:
        report = await rebuild_boards(db, runtime.board_redis, round_id)
    return {"round_id": report.round_id, "live": report.live_participants, "final": report.final_participants}


# Any: SAQ types a job function as (ctx, *args, **kwargs); ours take keyword-only arguments.
FUNCTIONS: list[Any] = [export_task, bank_import_task, sweep_task, expire_task, rebuild_board_task]
