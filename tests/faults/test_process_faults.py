"""The app process itself failing: a worker SIGKILLed in the middle of a save, a submit whose
answer never reached the phone (timeout) and is retried, and a SIGTERM (deploy, scale-down)
arriving while saves are in flight.

To have a request provably *inside* the server at the moment of the fault, the test holds a
lock on the attempt's row (PostgreSQL: SELECT … FOR UPDATE; SQLite: the write lock), so the
save or submit waits in the database until the test lets go."""
from __future__ import annotations

import asyncio
import random
import signal

import httpx
import pytest
from sqlalchemy import select

from app.attempts.models import Attempt
from tests.faults.conftest import Person, assert_board_equals_rebuild, assert_nothing_lost, attempts_of, http_to

pytestmark = pytest.mark.slow


async def lock_attempt(db, attempt_id: int) -> None:
    await db.execute(select(Attempt.id).where(Attempt.id == attempt_id).with_for_update())


async def wait_until_blocked(seconds: float = 0.6) -> None:
    # Long enough for the request to reach the database and wait on the lock.
    await asyncio.sleep(seconds)


async def test_worker_killed_mid_save_loses_no_acknowledged_answer(factory, app, db, app_process, own_redis_client):
    round_ = await factory.round(questions_per_attempt=8, attempts_allowed=1)
    async with http_to(app_process.base) as http:
        person = await Person.register(http)
        attempt = await person.open(round_.id)
        attempt_id, questions = attempt["attempt_id"], attempt["questions"]
        for q in questions[:3]:
            assert (await person.save(attempt_id, q)).status_code == 200

        await lock_attempt(db, attempt_id)
        in_flight = asyncio.create_task(person.save(attempt_id, questions[3]))
        await wait_until_blocked()
        app_process.kill()  # SIGKILL while the save waits inside the server
        with pytest.raises(httpx.TransportError):
            await in_flight  # never acknowledged: the phone keeps it and retries
        await db.rollback()
        app_process.start()

        resumed = (await person.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
        assert resumed["deadline"] == attempt["deadline"] and resumed["status"] == "in_progress"
        assert {str(k): v for k, v in person.acked.items()}.items() <= resumed["answers"].items()
        for q in questions[3:]:
            assert (await person.save(attempt_id, q)).status_code == 200
        result = await person.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 4})
        assert result.status_code == 200 and result.json()["correct"] == 8
    await assert_nothing_lost(db, attempt_id, person.acked, app.state.runtime.option_tokens, attempt["deadline"])
    assert list((await attempts_of(db, round_.id)).values()) == [1]
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=1)


async def test_worker_killed_during_a_burst_of_saves(factory, app, db, app_process, own_redis_client):
    round_ = await factory.round(questions_per_attempt=10, attempts_allowed=1)
    async with http_to(app_process.base) as http:
        people = [await Person.register(http) for _ in range(3)]
        attempts = [await p.open(round_.id) for p in people]

        async def killer():
            await asyncio.sleep(random.uniform(0.05, 0.25))
            app_process.kill()

        saves = [p.save(a["attempt_id"], q) for p, a in zip(people, attempts) for q in a["questions"]]
        outcomes = await asyncio.gather(killer(), *saves, return_exceptions=True)
        acknowledged = sum(1 for o in outcomes[1:] if isinstance(o, httpx.Response) and o.status_code == 200)
        assert acknowledged == sum(len(p.acked) for p in people)
        app_process.start()
        for person, attempt in zip(people, attempts):
            await assert_nothing_lost(db, attempt["attempt_id"], person.acked, app.state.runtime.option_tokens,
                                      attempt["deadline"])
            for q in attempt["questions"]:  # the phone re-sends whatever was not acknowledged
                if q["id"] not in person.acked:
                    assert (await person.save(attempt["attempt_id"], q)).status_code == 200
            r = await person.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 1})
            assert r.json()["correct"] == 10
    assert sorted((await attempts_of(db, round_.id)).values()) == [1, 1, 1]
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=3)


async def test_submit_retried_after_a_timeout_gives_one_result(factory, app, db, app_process, own_redis_client):
    round_ = await factory.round(questions_per_attempt=5, attempts_allowed=2)
    async with http_to(app_process.base) as http:
        person = await Person.register(http)
        attempt = await person.open(round_.id)
        attempt_id = attempt["attempt_id"]
        for q in attempt["questions"][:4]:
            assert (await person.save(attempt_id, q)).status_code == 200
        url = f"/api/v1/attempts/{attempt_id}/submit"

        await lock_attempt(db, attempt_id)
        with pytest.raises(httpx.ReadTimeout):  # the phone gives up waiting…
            await http.post(url, json={"prediction": 7}, headers=person.headers, timeout=0.5)
        retry = asyncio.create_task(person.call("POST", url, json={"prediction": 7}))  # …and retries at once
        await wait_until_blocked(0.3)
        await db.rollback()
        first = await retry
        assert first.status_code == 200, first.text
        again = await person.call("POST", url, json={"prediction": 9})  # and once more, later
        assert again.json() == first.json()
        body = first.json()
        assert (body["correct"], body["total"], body["prediction"]) == (4, 5, 7)
        deadline = (await person.call("GET", f"/api/v1/attempts/{attempt_id}")).json()["deadline"]
        assert deadline == attempt["deadline"]
        progress = (await person.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
        assert progress["attempts_used"] == 1 and len(progress["attempts"]) == 1
    db.expire_all()
    stored = await db.get(Attempt, attempt_id)
    assert (stored.status, stored.correct, stored.prediction) == ("submitted", 4, 7)
    assert body["submitted_at"].startswith(stored.submitted_at.strftime("%Y-%m-%dT%H:%M:%S"))
    await db.rollback()
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=1)


async def test_sigterm_lets_in_flight_saves_finish(factory, app, db, app_process):
    round_ = await factory.round(questions_per_attempt=6)
    async with http_to(app_process.base) as http:
        person = await Person.register(http)
        attempt = await person.open(round_.id)
        attempt_id = attempt["attempt_id"]
        await lock_attempt(db, attempt_id)
        saves = [asyncio.create_task(person.save(attempt_id, q)) for q in attempt["questions"][:4]]
        await wait_until_blocked()
        app_process.signal(signal.SIGTERM)  # a deploy or scale-down, with four saves in flight
        await asyncio.sleep(0.5)
        async with http_to(app_process.base, timeout=2) as newcomer:
            with pytest.raises(httpx.TransportError):  # no new work is taken on…
                await newcomer.get("/healthz")
        await db.rollback()
        responses = await asyncio.gather(*saves)  # …but what was in flight completes
        assert [r.status_code for r in responses] == [200] * 4
        # uvicorn re-raises SIGTERM once its shutdown is done, so -15 is the clean exit here.
        assert app_process.wait(20) in (0, -signal.SIGTERM)
        assert "Application shutdown complete" in app_process.output()
        assert "Traceback" not in app_process.output()
    await assert_nothing_lost(db, attempt_id, person.acked, app.state.runtime.option_tokens, attempt["deadline"])
    assert len(person.acked) == 4
