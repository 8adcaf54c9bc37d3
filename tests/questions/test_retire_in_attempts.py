"""Item 6: a retired (or corrected) question is never drawn again, while attempts that already
hold it keep showing it exactly as the participant saw it, and are graded on it."""
from __future__ import annotations

from tests.attempts.helpers import correct_option
from tests.questions.helpers import make_staff


def seen(attempt: dict) -> dict[int, tuple]:
    return {q["id"]: (q["text"], tuple(sorted(o["text"] for o in q["options"]))) for q in attempt["questions"]}


async def test_retired_and_edited_questions_leave_new_draws_but_stay_in_past_attempts(app, factory):
    contest = await factory.contest(questions=13)
    round_ = await factory.round(contest, questions_per_attempt=10, attempts_allowed=1)
    organizer = await make_staff(app, factory, contest.id)
    bank = f"/api/v1/contests/{contest.id}/bank"

    early = await factory.participant()
    opened = await early.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert opened.status_code == 201
    before = seen(opened.json())
    in_paper = list(before)
    retire_ids, edit_id = in_paper[:2], in_paper[2]
    for question_id in retire_ids:
        assert (await organizer.call("POST", f"{bank}/questions/{question_id}/retire")).status_code == 200
    original = (await organizer.call("GET", f"{bank}/questions/{edit_id}")).json()
    edited = await organizer.call("PUT", f"{bank}/questions/{edit_id}", json={
        "text": original["text"] + " (đã sửa)", "options": ["Đúng mới", "Sai mới 1", "Sai mới 2"], "answer": "A"})
    assert edited.status_code == 200
    new_id = edited.json()["id"]
    gone = set(retire_ids) | {edit_id}

    # The participant who already had them sees exactly what they saw, after a reload...
    reloaded = (await early.call("GET", f"/api/v1/attempts/{opened.json()['attempt_id']}")).json()
    assert seen(reloaded) == before
    # ...and is graded on them: answering every question right still scores 10/10.
    for question in reloaded["questions"]:
        saved = await early.call("PUT", f"/api/v1/attempts/{reloaded['attempt_id']}/answers/{question['id']}",
                                 json={"option_id": correct_option(question)})
        assert saved.status_code == 200, saved.text
    result = await early.call("POST", f"/api/v1/attempts/{reloaded['attempt_id']}/submit", json={"prediction": 1})
    assert result.json()["correct"] == 10

    # 13 questions - 3 retired + 1 corrected copy = 11 active: new papers of 10 never hold a retired one.
    drawn: set[int] = set()
    for _ in range(6):
        person = await factory.participant()
        attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
        ids = {q["id"] for q in attempt["questions"]}
        assert len(ids) == 10 and not ids & gone
        drawn |= ids
    assert new_id in drawn  # the corrected copy is drawn (missing from all six: p = (1/11)^6)
    counts = (await organizer.call("GET", f"{bank}/counts")).json()
    assert counts["active"] == 11 and counts["retired"] == 3
