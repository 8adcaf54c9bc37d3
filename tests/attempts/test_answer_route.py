"""The answer save's lean route (app/attempts/routes.py:put_answer) loads the session and the
attempt itself, in one Redis round trip: it must keep every check the dependency-built routes make."""
from __future__ import annotations

from app.attempts.cache import attempt_key
from tests.factories import profile
from tests.attempts.helpers import correct_option, wrong_option
from tests.attempts.test_attempt_rules import open_attempt, save


async def test_the_save_checks_login_csrf_and_body_like_every_api_write(factory, client):
    round_ = await factory.round()
    response = await client.post("/api/v1/auth/register", json=profile())
    sid, csrf = response.cookies.get("sid"), response.cookies.get("csrftoken")
    client.cookies.clear()
    client.cookies.update({"sid": sid, "csrftoken": csrf})
    try:
        attempt = (await client.post(f"/api/v1/rounds/{round_.id}/attempts", headers={"X-CSRF-Token": csrf})).json()
        question = attempt["questions"][0]
        url = f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}"
        body = {"option_id": correct_option(question)}
        without = await client.put(url, json=body)
        assert without.status_code == 403 and without.json()["error"]["code"] == "csrf_failed"
        bad = await client.put(url, json={"option": 1}, headers={"X-CSRF-Token": csrf})
        assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_request"
        assert bad.json()["error"]["details"][0]["loc"] == ["body", "option_id"]
        too_long = await client.put(url, json={"option_id": "x" * 41}, headers={"X-CSRF-Token": csrf})
        assert too_long.status_code == 422
        saved = await client.put(url, json=body, headers={"X-CSRF-Token": csrf})
        assert saved.status_code == 200, saved.text
        assert saved.json()["option_id"] == body["option_id"] and saved.json()["saved_at"].endswith("Z")
        client.cookies.clear()
        anonymous = await client.put(url, json=body)
        assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "not_logged_in"
    finally:
        client.cookies.clear()


async def test_openapi_documents_the_answer_body_and_reply(client):
    spec = (await client.get("/openapi.json")).json()
    put = spec["paths"]["/api/v1/attempts/{attempt_id}/answers/{question_id}"]["put"]
    assert "option_id" in put["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert put["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/AnswerOut")


async def test_a_cached_attempt_without_per_question_fields_still_saves(factory, redis):
    # Entries written before the save read only its question's options have no "q:<id>" fields;
    # the save then reads the whole entry, as it does for a question outside the paper.
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    attempt_id = attempt["attempt_id"]
    fields = [f for f in await redis.hkeys(attempt_key(attempt_id)) if f.startswith("q:")]
    assert len(fields) == len(attempt["questions"])
    await redis.hdel(attempt_key(attempt_id), *fields)
    q1, q2 = attempt["questions"][:2]
    assert (await save(participant, attempt_id, q1["id"], wrong_option(q1))).status_code == 200
    assert (await save(participant, attempt_id, q2["id"], correct_option(q2))).status_code == 200
    resumed = (await participant.call("GET", f"/api/v1/attempts/{attempt_id}")).json()
    assert resumed["answers"] == {str(q1["id"]): wrong_option(q1), str(q2["id"]): correct_option(q2)}
