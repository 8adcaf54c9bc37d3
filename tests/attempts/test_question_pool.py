"""The pool an open draws from is kept in memory (app/attempts/pool.py) and checked against the
bank at every open: whatever the organizer does to the bank shows in the very next paper."""
from __future__ import annotations

from tests.questions.helpers import make_staff


async def test_the_kept_pool_follows_retire_and_restore_at_the_next_open(app, factory):
    contest = await factory.contest(questions=4)
    round_ = await factory.round(contest, questions_per_attempt=4, attempts_allowed=1)
    organizer = await make_staff(app, factory, contest.id)
    bank = f"/api/v1/contests/{contest.id}/bank"

    first = await factory.participant()
    opened = await first.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert opened.status_code == 201  # the pool is now kept
    question_id = opened.json()["questions"][0]["id"]

    assert (await organizer.call("POST", f"{bank}/questions/{question_id}/retire")).status_code == 200
    refused = await (await factory.participant()).call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "bank_too_small"

    assert (await organizer.call("POST", f"{bank}/questions/{question_id}/restore")).status_code == 200
    again = await (await factory.participant()).call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert again.status_code == 201, again.text
    assert question_id in {q["id"] for q in again.json()["questions"]}
