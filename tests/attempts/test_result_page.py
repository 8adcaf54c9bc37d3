"""The result page (/attempts/{id}/result): the score of a closed attempt and the best of the
round, read in one query; an attempt still running goes back to its page, one whose time is up
is closed with what was saved, and nobody sees another person's result."""
from __future__ import annotations

from app.attempts import service
from tests.attempts.helpers import correct_option


async def test_the_result_page_shows_the_score_and_follows_the_attempts_state(factory, app, monkeypatch):
    round_ = await factory.round(questions_per_attempt=3, attempts_allowed=2, time_limit_seconds=600)
    person, stranger = await factory.participant(), await factory.participant()
    first = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    page = f"/attempts/{first['attempt_id']}/result"

    running = await person.call("GET", page)
    assert running.status_code == 303 and running.headers["location"] == f"/attempts/{first['attempt_id']}"

    for question in first["questions"][:2]:
        saved = await person.call("PUT", f"/api/v1/attempts/{first['attempt_id']}/answers/{question['id']}",
                                  json={"option_id": correct_option(question)})
        assert saved.status_code == 200
    assert (await person.call("POST", f"/api/v1/attempts/{first['attempt_id']}/submit",
                              json={"prediction": 5})).status_code == 200
    shown = await person.call("GET", page)
    assert shown.status_code == 200, shown.text
    assert "2/3" in shown.text.replace(" ", "") or "2 / 3" in shown.text
    assert (await stranger.call("GET", page)).status_code == 404

    # The second attempt's time runs out while nobody looks: the result page closes it at its
    # deadline with the one answer saved, and the first (2 right) stays the best.
    second = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    question = second["questions"][0]
    assert (await person.call("PUT", f"/api/v1/attempts/{second['attempt_id']}/answers/{question['id']}",
                              json={"option_id": correct_option(question)})).status_code == 200
    later = service.utcnow() + service.timedelta(seconds=3600)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    closed = await person.call("GET", f"/attempts/{second['attempt_id']}/result")
    assert closed.status_code == 200, closed.text
    assert "1/3" in closed.text.replace(" ", "") or "1 / 3" in closed.text
    result = (await person.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
    assert result["best"]["attempt_id"] == first["attempt_id"] and result["attempts_used"] == 2
    assert [a["correct"] for a in result["attempts"]] == [2, 1]
