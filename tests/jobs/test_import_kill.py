"""A large bank import survives its worker (issue 17): two `python -m app worker` processes share
the queue; the one importing is killed with SIGKILL mid-way; the other takes the job over and
imports the file, once. Both backends."""
from __future__ import annotations

import asyncio
import time

import pytest

from app.questions import import_jobs
from app.staff.roles import StaffAccess
from tests.jobs.processes import worker_pair
from tests.questions.helpers import count_questions
from tests.questions.test_bank_import_jobs import big_csv

QUESTIONS = 8_000

pytestmark = pytest.mark.slow


async def test_a_worker_killed_mid_import_hands_it_to_another_which_imports_it_once(factory, app, db):
    contest = await factory.contest(questions=0)
    async with worker_pair(app, "import-kill", SWEEP_INTERVAL_SECONDS="0") as pair:
        async with app.state.runtime.sessionmaker() as session:
            import_id = await import_jobs.start(pair.runtime, session, contest.id, big_csv(QUESTIONS),
                                                "ngan-hang-lon.csv",
                                                StaffAccess(user_id=None, name="Ban tổ chức", is_admin=False))

        # Kill whichever worker took it, as soon as it is reading the file.
        deadline = time.monotonic() + 120
        while (job := await import_jobs.get(pair.runtime, import_id)).status != "running":
            assert job.pending and time.monotonic() < deadline, job
            await asyncio.sleep(0.02)
        pair.owner_of((await pair.queue.saq.job(f"bank-import:{import_id}")).worker_id).kill()
        assert (await import_jobs.get(pair.runtime, import_id)).status == "running", "imported before the kill"

        job = await import_jobs.wait(pair.runtime, import_id, timeout=400)
        assert job.status == "done", (job.error, pair.log_lines("import", "rror"))
        assert job.ok and job.attempts >= 2 and job.report.added == QUESTIONS
        assert not job.report.duplicates_in_bank  # the killed attempt wrote nothing
    assert await count_questions(db, contest.id) == QUESTIONS
