"""The timed attempt's rules, over the JSON API against the configured database and Redis."""
from __future__ import annotations

import asyncio
import json
from datetime import timedelta

from sqlalchemy import select

from app.attempts.models import AttemptAnswer
from app.attempts.service import AttemptDeps, close_all_expired
from app.core.clock import utcnow
from app.main import create_app
import httpx
from tests.attempts.helpers import correct_option, wrong_option


async def open_attempt(participant, round_id, expected=201) -> dict:
    response = await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert response.status_code == expected, response.text
    return response.json()


async def test_opening_draws_n_questions_without_any_hint_of_the_key(factory, db):
    round_ = await factory.round(questions_per_attempt=10)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    assert len(attempt["questions"]) == 10
    assert len({q["id"] for q in attempt["questions"]}) == 10
    assert attempt["remaining_ms"] > 590_000
    text = json.dumps(attempt)
    for hint in ("is_correct", "correct", "answer_index", "explanation", "key"):
        assert f'"{hint}"' not in text
    # Option ids are per-attempt tokens, not database ids (which follow the bank's order).
    option_ids = [o["id"] for q in attempt["questions"] for o in q["options"]]
    assert not any(o.isdigit() for o in option_ids)
    assert attempt["answers"] == {} and attempt["result"] is None


async def test_options_are_shuffled_per_attempt(factory):
    round_ = await factory.round(questions_per_attempt=20, attempts_allowed=5)
    positions = set()
    for _ in range(3):
        participant = await factory.participant()
        attempt = await open_attempt(participant, round_.id)
        for q in attempt["questions"]:
            positions.add([o["text"].startswith("Đúng") for o in q["options"]].index(True))
    # The bank has every right answer at A; 60 shuffled questions all keeping it there is (1/4)^60.
    assert positions == {0, 1, 2, 3}


async def test_opening_again_returns_the_attempt_in_progress(factory):
    round_ = await factory.round()
    participant = await factory.participant()
    first = await open_attempt(participant, round_.id)
    again = await open_attempt(participant, round_.id, expected=200)
    assert again["attempt_id"] == first["attempt_id"]
    assert again["deadline"] == first["deadline"]
    assert [q["id"] for q in again["questions"]] == [q["id"] for q in first["questions"]]


async def save(participant, attempt_id, question_id, option_id):
    return await participant.call("PUT", f"/api/v1/attempts/{attempt_id}/answers/{question_id}",
                                  json={"option_id": option_id})


async def test_answers_survive_reload_redis_flush_and_app_restart(factory, client, redis, settings):
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    attempt_id = attempt["attempt_id"]
    q1, q2 = attempt["questions"][:2]
    assert (await save(participant, attempt_id, q1["id"], correct_option(q1))).status_code == 200
    assert (await save(participant, attempt_id, q2["id"], wrong_option(q2))).status_code == 200
    assert (await save(participant, attempt_id, q2["id"], correct_option(q2))).status_code == 200  # changed mind
    expected = {str(q1["id"]): correct_option(q1), str(q2["id"]): correct_option(q2)}

    reloaded = (await participant.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
    assert reloaded["answers"] == expected

    await redis.flushdb()  # Redis restarted empty: the login is gone, the answers are not
    assert (await participant.call("GET", f"/api/v1/attempts/{attempt_id}")).status_code == 401
    login = await client.post("/api/v1/auth/login", json={"login": participant.user["phone"],
                                                          "password": "mat-khau-an-toan"})
    participant.token = login.json()["token"]
    after_flush = (await participant.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
    assert after_flush["answers"] == expected
    assert after_flush["deadline"] == attempt["deadline"]

    # A second app process (fresh engine, connections and in-process caches) resumes the same attempt.
    restarted = create_app(settings)
    async with restarted.router.lifespan_context(restarted):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=restarted), base_url="http://t") as other:
            response = await other.get(f"/api/v1/attempts/{attempt_id}", headers=participant.headers)
    assert response.status_code == 200
    assert response.json()["answers"] == expected
    assert response.json()["deadline"] == attempt["deadline"]


async def test_submit_grades_and_is_idempotent(factory):
    round_ = await factory.round(questions_per_attempt=10)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    attempt_id = attempt["attempt_id"]
    for q in attempt["questions"][:6]:
        await save(participant, attempt_id, q["id"], correct_option(q))
    for q in attempt["questions"][6:8]:
        await save(participant, attempt_id, q["id"], wrong_option(q))
    first = await participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 42})
    assert first.status_code == 200, first.text
    result = first.json()
    assert (result["correct"], result["total"], result["prediction"]) == (6, 10, 42)
    assert 0 <= result["time_ms"] < 60_000 and result["auto_submitted"] is False
    again = await participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 7})
    assert again.status_code == 200
    assert again.json() == result
    late_answer = await save(participant, attempt_id, attempt["questions"][9]["id"],
                             correct_option(attempt["questions"][9]))
    assert late_answer.status_code == 409
    assert late_answer.json()["error"]["code"] == "attempt_closed"


async def test_prediction_is_required_unless_saved_before(factory):
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    url = f"/api/v1/attempts/{attempt['attempt_id']}"
    missing = await participant.call("POST", url + "/submit", json={})
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "prediction_required"
    assert (await participant.call("PUT", url + "/prediction", json={"prediction": 1500})).status_code == 204
    submitted = await participant.call("POST", url + "/submit", json={})
    assert submitted.status_code == 200 and submitted.json()["prediction"] == 1500


async def test_a_pages_automatic_submit_counts_only_at_the_servers_deadline(factory):
    """The page submits with `auto` when its countdown runs out: no prediction is asked then. A
    client claiming it early changes nothing (the deadline is the server's, not the phone's)."""
    participant = await factory.participant()
    early = await open_attempt(participant, (await factory.round(time_limit_seconds=600)).id)
    refused = await participant.call("POST", f"/api/v1/attempts/{early['attempt_id']}/submit", json={"auto": True})
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "prediction_required"
    manual = await participant.call("POST", f"/api/v1/attempts/{early['attempt_id']}/submit",
                                    json={"auto": True, "prediction": 3})
    assert manual.status_code == 200 and manual.json()["auto_submitted"] is False

    # A 2-second attempt is within 2 s of its deadline from the start: the countdown's submit.
    at_deadline = await open_attempt(participant, (await factory.round(time_limit_seconds=2)).id)
    auto = await participant.call("POST", f"/api/v1/attempts/{at_deadline['attempt_id']}/submit", json={"auto": True})
    assert auto.status_code == 200
    assert auto.json()["auto_submitted"] is True and auto.json()["prediction"] is None


async def test_deadline_is_enforced_by_the_server(factory, app):
    round_ = await factory.round(time_limit_seconds=1, questions_per_attempt=5)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    attempt_id = attempt["attempt_id"]
    q1, q2 = attempt["questions"][:2]
    assert (await save(participant, attempt_id, q1["id"], correct_option(q1))).status_code == 200
    await asyncio.sleep(1 + app.state.runtime.settings.deadline_grace_seconds + 0.2)
    late = await save(participant, attempt_id, q2["id"], correct_option(q2))
    assert late.status_code == 409
    assert "hết giờ" in late.json()["error"]["message"].lower()
    state = (await participant.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
    assert state["status"] == "submitted" and state["remaining_ms"] == 0
    assert state["result"]["correct"] == 1
    assert state["result"]["auto_submitted"] is True
    assert state["result"]["time_ms"] == 1000  # closed at the deadline, not when it was noticed


async def test_sweep_closes_abandoned_attempts(factory, app, db):
    round_ = await factory.round(time_limit_seconds=1)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    q = attempt["questions"][0]
    await save(participant, attempt["attempt_id"], q["id"], correct_option(q))
    await asyncio.sleep(1 + app.state.runtime.settings.deadline_grace_seconds + 0.2)
    deps = AttemptDeps.of(app.state.runtime, db)
    assert await close_all_expired(deps) >= 1
    progress = (await participant.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
    assert progress["in_progress_attempt_id"] is None
    assert progress["best"]["correct"] == 1 and progress["best"]["auto_submitted"] is True


async def test_deadline_never_runs_past_the_round_close(factory):
    round_ = await factory.round(close_at=utcnow() + timedelta(seconds=90), time_limit_seconds=900)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    assert 80_000 < attempt["remaining_ms"] <= 90_000


async def test_attempt_limit_and_best_attempt_counts(factory):
    round_ = await factory.round(questions_per_attempt=5, attempts_allowed=2)
    participant = await factory.participant()
    scores = []
    for right in (4, 2):
        attempt = await open_attempt(participant, round_.id)
        for i, q in enumerate(attempt["questions"]):
            await save(participant, attempt["attempt_id"], q["id"],
                       correct_option(q) if i < right else wrong_option(q))
        result = await participant.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit",
                                        json={"prediction": 10})
        scores.append(result.json())
    third = await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert third.status_code == 409
    assert third.json()["error"]["code"] == "attempts_exhausted"
    progress = (await participant.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
    assert progress["attempts_used"] == 2
    assert progress["best"] == scores[0]  # 4 correct beats 2 correct, whatever the order


async def test_concurrent_clicks_open_exactly_one_attempt(factory):
    round_ = await factory.round(attempts_allowed=2)
    participant = await factory.participant()
    responses = await asyncio.gather(*[participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
                                       for _ in range(8)])
    assert sorted(r.status_code for r in responses) == [200] * 7 + [201]
    assert len({r.json()["attempt_id"] for r in responses}) == 1
    progress = (await participant.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
    assert progress["attempts_used"] == 1


async def test_every_acknowledged_answer_is_graded_when_save_races_submit(factory, db):
    round_ = await factory.round(questions_per_attempt=20)
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    attempt_id = attempt["attempt_id"]
    saves = [save(participant, attempt_id, q["id"], correct_option(q)) for q in attempt["questions"]]
    submit = participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 1})
    *save_responses, submit_response = await asyncio.gather(*saves, submit)
    acknowledged = {q["id"] for q, r in zip(attempt["questions"], save_responses) if r.status_code == 200}
    assert all(r.status_code in (200, 409) for r in save_responses)
    assert submit_response.status_code == 200
    stored = set((await db.scalars(select(AttemptAnswer.question_id)
                                   .where(AttemptAnswer.attempt_id == attempt_id))).all())
    assert acknowledged <= stored
    assert submit_response.json()["correct"] == len(stored)


async def test_nobody_else_can_see_or_answer_my_attempt(factory):
    round_ = await factory.round()
    owner, intruder = await factory.participant(), await factory.participant()
    attempt = await open_attempt(owner, round_.id)
    url = f"/api/v1/attempts/{attempt['attempt_id']}"
    assert (await intruder.call("GET", url)).status_code == 404
    q = attempt["questions"][0]
    assert (await save(intruder, attempt["attempt_id"], q["id"], correct_option(q))).status_code == 404
    assert (await intruder.call("POST", url + "/submit", json={"prediction": 1})).status_code == 404


async def test_answers_only_for_questions_and_options_of_the_attempt(factory):
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    other = await open_attempt(await factory.participant(), round_.id)
    foreign_question = next(q for q in other["questions"] if q["id"] not in {x["id"] for x in attempt["questions"]})
    response = await save(participant, attempt["attempt_id"], foreign_question["id"], foreign_question["options"][0]["id"])
    assert response.status_code == 422 and response.json()["error"]["code"] == "question_not_in_attempt"
    q = attempt["questions"][0]
    # An option token from another attempt means nothing here.
    same_question_elsewhere = next((x for x in other["questions"] if x["id"] == q["id"]), None)
    bad_token = same_question_elsewhere["options"][0]["id"] if same_question_elsewhere else "not-a-token"
    response = await save(participant, attempt["attempt_id"], q["id"], bad_token)
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_option"


async def test_rounds_not_open_refuse_attempts(factory):
    now = utcnow()
    upcoming = await factory.round(open_at=now + timedelta(days=1), close_at=now + timedelta(days=2))
    closed = await factory.round(open_at=now - timedelta(days=2), close_at=now - timedelta(days=1))
    participant = await factory.participant()
    for round_, code in ((upcoming, "round_not_open"), (closed, "round_closed")):
        response = await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
        assert response.status_code == 409 and response.json()["error"]["code"] == code


async def test_topic_quotas_are_honoured_and_impossible_ones_explained(factory):
    contest = await factory.contest(questions=30)  # 10 per topic
    round_ = await factory.round(contest, questions_per_attempt=10,
                                 quotas=[{"topic": "Chủ đề 1", "count": 6}, {"topic": "Chủ đề 2", "count": 4}])
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    # Topic is not sent to the client; recover it from the fixture text (question i has topic i % 3).
    topics = [int(q["text"].split("-")[1].split(":")[0]) % 3 for q in attempt["questions"]]
    assert topics.count(0) == 6 and topics.count(1) == 4

    impossible = await factory.round(contest, questions_per_attempt=12, quotas=[{"topic": "Chủ đề 3", "count": 11}])
    response = await participant.call("POST", f"/api/v1/rounds/{impossible.id}/attempts")
    assert response.status_code == 409
    assert "chỉ có 10 câu" in response.json()["error"]["message"]


async def test_api_errors_are_structured_json(client):
    response = await client.get("/api/v1/attempts/123456789")
    assert response.status_code == 401
    assert set(response.json()["error"]) >= {"code", "message"}
    response = await client.get("/api/v1/contests/987654321")
    assert response.status_code == 404 and response.json()["error"]["code"] == "contest_not_found"
    response = await client.post("/api/v1/auth/login", json={"login": 5})
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


async def test_an_open_follows_the_rounds_settings_as_stored_not_a_cached_copy(factory, app):
    # The first open keeps the round and the bank's pool in the worker's memory; an organizer then
    # changes how many questions a paper has and closes the round early. The next opens must
    # follow the database at once: a paper of the new size, then a refusal.
    from app.contests.models import Round
    from sqlalchemy import update

    round_ = await factory.round(questions_per_attempt=10)
    assert len((await open_attempt(await factory.participant(), round_.id))["questions"]) == 10
    assert len((await open_attempt(await factory.participant(), round_.id))["questions"]) == 10
    async with app.state.runtime.sessionmaker() as s:
        await s.execute(update(Round).where(Round.id == round_.id).values(questions_per_attempt=12))
        await s.commit()
    assert len((await open_attempt(await factory.participant(), round_.id))["questions"]) == 12
    async with app.state.runtime.sessionmaker() as s:
        await s.execute(update(Round).where(Round.id == round_.id).values(close_at=utcnow() - timedelta(seconds=1)))
        await s.commit()
    refused = await open_attempt(await factory.participant(), round_.id, expected=409)
    assert refused["error"]["code"] == "round_closed"
