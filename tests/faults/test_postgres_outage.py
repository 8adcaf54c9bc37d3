"""PostgreSQL briefly unreachable: the app reaches the (shared, untouched) server through a TCP
proxy of ours, which the test cuts — every open connection dropped, new ones refused — and
restores."""
from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import urlsplit

import pytest

from tests.faults.conftest import (Person, assert_board_equals_rebuild, assert_nothing_lost,
                                   assert_unavailable_json, assert_unavailable_page, attempts_of, http_to)
from tests.faults.processes import AppProcess, TcpProxy, via_proxy

pytestmark = pytest.mark.slow


@pytest.fixture
def pg_proxy(settings, is_postgres):
    if not is_postgres:
        pytest.skip("PostgreSQL outage needs a PostgreSQL server: run with DATABASE_URL=postgresql://… "
                    "(the embedded SQLite file cannot become unreachable)")
    proxy = TcpProxy(urlsplit(os.environ["DATABASE_URL"]).port or 5432)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app_via_proxy(pg_proxy, own_redis):
    process = AppProcess({"REDIS_URL": own_redis.url,
                          "DATABASE_URL": via_proxy(os.environ["DATABASE_URL"], pg_proxy.port)})
    process.start()
    yield process
    process.stop()


async def until_ok(call, seconds: float = 15):
    deadline = time.monotonic() + seconds
    while True:
        response = await call()
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        assert response.status_code == 503, response.text  # only "try again", never anything else
        await asyncio.sleep(0.2)


async def test_postgres_briefly_unreachable(factory, app, db, pg_proxy, app_via_proxy, own_redis_client):
    round_ = await factory.round(questions_per_attempt=6, attempts_allowed=1)
    async with http_to(app_via_proxy.base) as http:
        early = await Person.register(http)
        first = await early.open(round_.id)
        for q in first["questions"]:
            assert (await early.save(first["attempt_id"], q)).status_code == 200
        assert (await early.call("POST", f"/api/v1/attempts/{first['attempt_id']}/submit",
                                 json={"prediction": 1})).status_code == 200
        person = await Person.register(http)
        attempt = await person.open(round_.id)
        attempt_id, questions = attempt["attempt_id"], attempt["questions"]
        for q in questions[:3]:
            assert (await person.save(attempt_id, q)).status_code == 200

        pg_proxy.cut()
        try:
            q = questions[3]
            assert_unavailable_json(await http.put(f"/api/v1/attempts/{attempt_id}/answers/{q['id']}",
                                                   json={"option_id": q["options"][0]["id"]}, headers=person.headers))
            assert_unavailable_json(await http.post(f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 1},
                                                    headers=person.headers))
            assert_unavailable_page(await http.get(f"/contests/{round_.contest_id}", headers={"Accept": "text/html"}))
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"] == {"database": "down", "redis": "ok"}
        finally:
            pg_proxy.restore()

        # Back: the pool reconnects by itself; the phone re-sends what was not acknowledged.
        for q in questions[3:]:
            saved = await until_ok(lambda q=q: person.save(attempt_id, q))
            assert saved.status_code == 200, saved.text
        resumed = (await person.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
        assert resumed["deadline"] == attempt["deadline"]
        assert resumed["answers"] == {str(k): v for k, v in person.acked.items()}
        result = await person.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 3})
        assert result.status_code == 200 and result.json()["correct"] == 6
        assert (await http.get("/readyz")).status_code == 200
    await assert_nothing_lost(db, attempt_id, person.acked, app.state.runtime.option_tokens, attempt["deadline"])
    assert sorted((await attempts_of(db, round_.id)).values()) == [1, 1]
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=2)
    # Every failure during the outage was recognised as one (503), none treated as a crash.
    output = app_via_proxy.output()
    assert "Exception in ASGI application" not in output and '"msg":"unhandled error"' not in output
    assert '"msg":"database error"' not in output


async def test_postgres_cut_in_the_middle_of_a_save(factory, app, db, pg_proxy, app_via_proxy):
    """The connection dies while a save's transaction is open: the save is either committed and
    acknowledged, or refused with 503 — never acknowledged and lost."""
    round_ = await factory.round(questions_per_attempt=10, attempts_allowed=1)
    async with http_to(app_via_proxy.base) as http:
        person = await Person.register(http)
        attempt = await person.open(round_.id)
        attempt_id = attempt["attempt_id"]

        async def cutter():
            await asyncio.sleep(0.05)
            pg_proxy.cut()
            await asyncio.sleep(0.5)
            pg_proxy.restore()

        outcomes = await asyncio.gather(cutter(), *[person.save(attempt_id, q) for q in attempt["questions"]])
        assert {r.status_code for r in outcomes[1:]} <= {200, 503}
        for q in attempt["questions"]:
            if q["id"] not in person.acked:
                assert (await until_ok(lambda q=q: person.save(attempt_id, q))).status_code == 200
    await assert_nothing_lost(db, attempt_id, person.acked, app.state.runtime.option_tokens, attempt["deadline"])
    assert len(person.acked) == 10
