"""Redis restarted (losing everything: no persistence) or flushed in the middle of a round,
against a real redis-server of our own and the app in its own uvicorn process."""
from __future__ import annotations

import pytest

from tests.faults.conftest import (Person, assert_board_equals_rebuild, assert_nothing_lost,
                                   assert_unavailable_json, assert_unavailable_page, attempts_of, http_to)

pytestmark = pytest.mark.slow


async def finish(person: Person, round_id: int, attempt: dict, count: int | None = None) -> dict:
    for q in attempt["questions"][:count]:
        assert (await person.save(attempt["attempt_id"], q)).status_code == 200
    r = await person.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 2})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.parametrize("fault", ["restart", "flushdb"])
async def test_redis_lost_mid_round_loses_no_answer_and_the_board_heals(fault, factory, app, db, own_redis,
                                                                          own_redis_client, app_process):
    round_ = await factory.round(questions_per_attempt=6, attempts_allowed=1)
    tokens = app.state.runtime.option_tokens
    async with http_to(app_process.base) as http:
        early = await Person.register(http)  # submits before the fault: on the board already
        await finish(early, round_.id, await early.open(round_.id), count=4)
        alice, bob = await Person.register(http), await Person.register(http)
        attempts = {p: await p.open(round_.id) for p in (alice, bob)}
        for person, attempt in attempts.items():
            for q in attempt["questions"][:3]:
                assert (await person.save(attempt["attempt_id"], q)).status_code == 200

        if fault == "restart":
            own_redis.kill()
            # While Redis is down: a clear message for the phone's script and for the page.
            attempt = attempts[alice]
            q = attempt["questions"][3]
            assert_unavailable_json(await http.put(f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                                   json={"option_id": q["options"][0]["id"]}, headers=alice.headers))
            assert_unavailable_page(await http.get(f"/attempts/{attempt['attempt_id']}",
                                                   headers={**alice.headers, "Accept": "text/html"}))
            ready = await http.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"] == {"database": "ok", "redis": "down"}
            own_redis.start()  # empty: no persistence
        else:
            own_redis.flushdb()

        assert (await http.get("/readyz")).status_code == 200
        for person, attempt in attempts.items():
            # Sessions were in Redis: the person logs in again (Person.call) and resumes the same
            # attempt with every acknowledged answer and the same deadline.
            resumed = (await person.call("GET", f"/api/v1/attempts/{attempt['attempt_id']}")).json()
            assert resumed["deadline"] == attempt["deadline"]
            assert resumed["answers"] == {str(k): v for k, v in person.acked.items()}
            assert (await person.open(round_.id))["attempt_id"] == attempt["attempt_id"]  # no second attempt
            await finish(person, round_.id, resumed)
            await assert_nothing_lost(db, attempt["attempt_id"], person.acked, tokens, attempt["deadline"])

    assert sorted((await attempts_of(db, round_.id)).values()) == [1, 1, 1]
    # The board lost the early participant with Redis; the next submit rebuilt it from the database.
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=3)


async def test_board_reads_heal_a_flushed_board_without_any_new_submit(factory, own_redis, own_redis_client,
                                                                      app_process, db):
    round_ = await factory.round(questions_per_attempt=4)
    async with http_to(app_process.base) as http:
        people = [await Person.register(http) for _ in range(3)]
        for i, person in enumerate(people):
            await finish(person, round_.id, await person.open(round_.id), count=i + 1)
        before = (await http.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
        own_redis.flushdb()
        after = (await http.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
    assert after["participants"] == 3
    assert [(r["rank"], r["correct"], r["time_ms"]) for r in after["rows"]] == \
           [(r["rank"], r["correct"], r["time_ms"]) for r in before["rows"]]
    await assert_board_equals_rebuild(db, own_redis_client, round_.id, participants=3)


async def test_pages_and_api_say_so_in_vietnamese_while_redis_is_down(factory, own_redis, app_process):
    round_ = await factory.round()
    async with http_to(app_process.base) as http:
        person = await Person.register(http)
        own_redis.kill()
        try:
            assert_unavailable_json(await http.get("/api/v1/me", headers=person.headers))
            assert_unavailable_json(await http.post(f"/api/v1/rounds/{round_.id}/attempts", headers=person.headers))
            assert_unavailable_json(await http.post("/api/v1/auth/login", json={"login": person.data["phone"],
                                                                                "password": "x"}))
            assert_unavailable_page(await http.get(f"/contests/{round_.contest_id}",
                                                   headers={**person.headers, "Accept": "text/html"}))
            # The public pages that need no Redis keep working.
            assert (await http.get("/healthz")).status_code == 200
        finally:
            own_redis.start()
        r = await http.get("/api/v1/me", headers=person.headers)
        assert r.status_code == 401  # the session died with Redis; logging in again works
        await person.login()
        assert (await http.get("/api/v1/me", headers=person.headers)).status_code == 200

