"""A large bank import survives its worker (issue 17): two `python -m app worker` processes share
the queue; the one importing is killed with SIGKILL mid-way; the other takes the job over and
imports the file, once. Both backends."""
from __future__ import annotations

import asyncio
import secrets
import time
from types import SimpleNamespace

import pytest

from app.jobs.queue import JobQueue
from app.questions import import_jobs
from app.staff.roles import StaffAccess
from tests.jobs.processes import WorkerProcess
from tests.questions.helpers import count_questions
from tests.questions.test_bank_import_jobs import big_csv

QUESTIONS = 8_000

pytestmark = pytest.mark.slow


async def test_a_worker_killed_mid_import_hands_it_to_another_which_imports_it_once(factory, app, db):
    contest = await factory.contest(questions=0)
    # Its own queue: the test app's in-process worker must not take the job.
    env = {"JOBS_QUEUE": "import-kill-" + secrets.token_hex(4), "JOB_HEARTBEAT_SECONDS": "10",
           "JOBS_SWEEP_SECONDS": "1", "WORKER_NICE": "0", "JOB_RETRIES": "5", "SWEEP_INTERVAL_SECONDS": "0",
           "SECRET_KEY": app.state.runtime.settings.effective_secret_key}
    settings = app.state.runtime.settings.model_copy(update={"jobs_queue": env["JOBS_QUEUE"]})
    queue = JobQueue(settings)
    await queue.connect()
    workers = [WorkerProcess(env), WorkerProcess(env)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.wait_started()
        runtime = SimpleNamespace(sessionmaker=app.state.runtime.sessionmaker, settings=settings, jobs=queue)
        async with app.state.runtime.sessionmaker() as session:
            import_id = await import_jobs.start(runtime, session, contest.id, big_csv(QUESTIONS), "ngan-hang-lon.csv",
                                                StaffAccess(user_id=None, name="Ban tổ chức", is_admin=False))

        # Kill whichever worker took it, as soon as it is reading the file.
        deadline = time.monotonic() + 120
        while (job := await import_jobs.get(runtime, import_id)).status != "running":
            assert job.pending and time.monotonic() < deadline, job
            await asyncio.sleep(0.02)
        owner = (await queue.saq.job(f"bank-import:{import_id}")).worker_id
        victim = next(w for w in workers if owner.endswith(f":{w.pid}"))
        victim.kill()
        assert (await import_jobs.get(runtime, import_id)).status == "running", "imported before the kill"

        job = await import_jobs.wait(runtime, import_id, timeout=400)
        assert job.status == "done", (job.error, [line for w in workers for line in w.output().splitlines()
                                                  if "import" in line or "rror" in line][-30:])
        assert job.ok and job.attempts >= 2 and job.report.added == QUESTIONS
        assert not job.report.duplicates_in_bank  # the killed attempt wrote nothing
    finally:
        for w in workers:
            w.stop()
        await queue.close()
    assert await count_questions(db, contest.id) == QUESTIONS
