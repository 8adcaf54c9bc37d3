"""The deadline sweep as a periodic job (issue 17): a sweep stopped half-way (its worker killed,
an error) leaves every attempt either closed with its score or untouched with its answers, and
the next run closes the rest."""
from __future__ import annotations

import contextlib
import time
from types import SimpleNamespace
from datetime import timedelta

from sqlalchemy import func, select, update

from app.attempts import service
from app.attempts.models import Attempt, AttemptAnswer
from app.core.clock import utcnow
from app.jobs.tasks import sweep_task
from tests.attempts.helpers import correct_option


def _ctx(app) -> dict:
    return {"runtime": app.state.runtime}


@contextlib.asynccontextmanager
async def other_sweepers_stand_aside(app, seconds: int = 300):
    """The session's live server (tests/conftest.py) sweeps the same database every second: it
    would close this test's expired attempts itself. Its ticks are claimed through the fleet's own
    once-per-tick rule (app/jobs/tasks.py), so for this test only the sweeps it runs by hand work."""
    runtime = app.state.runtime
    now = int(time.time())
    keys = [f"sweep:tick:{runtime.settings.jobs_queue}:{t}" for t in range(now - 5, now + seconds)]
    async with runtime.redis.pipeline(transaction=False) as pipe:
        for key in keys:
            pipe.set(key, "test", ex=seconds + 60)
        await pipe.execute()
    try:
        yield
    finally:
        await runtime.redis.delete(*keys)


async def test_a_sweep_interrupted_half_way_leaves_nothing_half_closed(factory, app, monkeypatch):
    async with other_sweepers_stand_aside(app):
        await _interrupted_sweep(factory, app, monkeypatch)


async def _interrupted_sweep(factory, app, monkeypatch):
    round_ = await factory.round(questions_per_attempt=5)
    ids = []
    for _ in range(5):
        person = await factory.participant()
        attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
        for q in attempt["questions"][:3]:
            r = await person.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                  json={"option_id": correct_option(q)})
            assert r.status_code == 200
        ids.append(attempt["attempt_id"])
    async with app.state.runtime.sessionmaker() as db:
        # Started 15 minutes ago with the round's 10-minute limit: the deadline passed 5 minutes ago.
        started = utcnow() - timedelta(minutes=15)
        await db.execute(update(Attempt).where(Attempt.id.in_(ids))
                         .values(started_at=started, deadline=started + timedelta(seconds=round_.time_limit_seconds)))
        await db.commit()

    real = service.close_expired_attempt
    calls = 0

    async def dies_on_the_third(deps, attempt_id):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionError("worker lost its database mid-sweep")
        return await real(deps, attempt_id)

    monkeypatch.setattr(service, "close_expired_attempt", dies_on_the_third)
    try:
        await sweep_task(_ctx(app))
        raise AssertionError("the sweep should have failed")
    except ConnectionError:
        pass

    async def states():
        async with app.state.runtime.sessionmaker() as db:
            rows = (await db.execute(select(Attempt.id, Attempt.status, Attempt.correct, Attempt.submitted_at)
                                     .where(Attempt.id.in_(ids)))).all()
            answers = dict((await db.execute(select(AttemptAnswer.attempt_id, func.count())
                                             .where(AttemptAnswer.attempt_id.in_(ids))
                                             .group_by(AttemptAnswer.attempt_id))).all())
        return rows, answers

    rows, answers = await states()
    closed = [r for r in rows if r.status == "submitted"]
    assert len(closed) == 2 and all(r.correct == 3 and r.submitted_at is not None for r in closed)
    assert all(r.status == "in_progress" and r.correct is None for r in rows if r not in closed)
    assert all(answers[i] == 3 for i in ids)  # nobody's saved answers were touched

    monkeypatch.setattr(service, "close_expired_attempt", real)
    assert await sweep_task(_ctx(app)) >= 3
    rows, answers = await states()
    assert all(r.status == "submitted" and r.correct == 3 for r in rows) and all(answers[i] == 3 for i in ids)


async def test_every_worker_of_a_queue_runs_its_sweep_ticks_even_one_that_schedules_none(app):
    """A tick queued by one process (the web's in-process worker, every SWEEP_INTERVAL_SECONDS)
    can be taken by any worker of the queue, one started with SWEEP_INTERVAL_SECONDS=0 included:
    it must know the task (a KeyError in the worker's log otherwise, and the tick lost). The task's
    name carries the queue's, so two queues sharing one PostgreSQL database keep their own ticks."""
    from app.jobs.worker import build_worker

    runtime = app.state.runtime
    quiet = runtime.settings.model_copy(update={"sweep_interval_seconds": 0})
    worker = build_worker(SimpleNamespace(settings=quiet, jobs=runtime.jobs))
    assert f"sweep_task@{quiet.jobs_queue}" in worker.functions
    assert f"expire_task@{quiet.jobs_queue}" in worker.functions
    assert all("sweep_task" not in cron.function.__qualname__ for cron in worker.cron_jobs)

    other = runtime.settings.model_copy(update={"sweep_interval_seconds": 1, "jobs_queue": "another-deployment"})
    scheduled = build_worker(SimpleNamespace(settings=other, jobs=runtime.jobs))
    assert any(cron.function.__qualname__ == "sweep_task@another-deployment" for cron in scheduled.cron_jobs)
