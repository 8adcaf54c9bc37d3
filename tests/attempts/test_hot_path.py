"""The rush's hot paths (open, save, submit) cut to fewer round trips and less Python: the rules
and the results stay exactly what they were (issue 12)."""
from __future__ import annotations

import json

from app.attempts.models import Attempt
from app.integrity.models import ResultExclusion
from app.leaderboard import rebuild
from app.leaderboard.board import LIVE, BoardKeys
from app.leaderboard.ordering import live_entry
from app.leaderboard.ranking import load_result
from tests.attempts.helpers import correct_option, wrong_option


async def _open(participant, round_id) -> dict:
    response = await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")
    assert response.status_code == 201, response.text
    return response.json()


async def _answer(participant, attempt: dict, choose) -> None:
    for question in attempt["questions"][:3]:
        response = await participant.call(
            "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
            json={"option_id": choose(question)})
        assert response.status_code == 200, response.text


def _count_board_reads(monkeypatch) -> list[int]:
    reads: list[int] = []
    real = rebuild.load_result

    async def counting(db, attempt_id):
        reads.append(attempt_id)
        return await real(db, attempt_id)

    monkeypatch.setattr(rebuild, "load_result", counting)
    return reads


async def test_a_submit_updates_the_live_board_from_what_its_close_returned(
        factory, app, db, is_postgres, monkeypatch):
    """On PostgreSQL the closing statement hands the board its figures: nothing is read again, and
    the row written is the one a read of the database would have given."""
    reads = _count_board_reads(monkeypatch)
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await _open(participant, round_.id)
    await _answer(participant, attempt, lambda q: correct_option(q) if q["number"] != 2 else wrong_option(q))
    response = await participant.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit",
                                      json={"prediction": 42})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["correct"], result["total"], result["prediction"]) == (2, 10, 42)

    assert reads == ([] if is_postgres else [attempt["attempt_id"]])
    board_redis = app.state.runtime.board_redis
    stored = await board_redis.hget(BoardKeys(round_.id, LIVE).rows, str(participant.user["id"]))
    found = await load_result(db, attempt["attempt_id"])
    assert found is not None
    assert json.loads(stored) == live_entry(found[1]).row
    assert found[1].full_name == participant.user["full_name"]


async def test_an_excluded_participant_who_submits_stays_off_the_live_board(factory, app, db, monkeypatch):
    reads = _count_board_reads(monkeypatch)
    round_ = await factory.round()
    participant = await factory.participant()
    db.add(ResultExclusion(round_id=round_.id, user_id=participant.user["id"], reason="thử"))
    await db.commit()
    attempt = await _open(participant, round_.id)
    await _answer(participant, attempt, correct_option)
    response = await participant.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit",
                                      json={"prediction": 1})
    assert response.status_code == 200 and response.json()["correct"] == 3
    board_redis = app.state.runtime.board_redis
    assert await board_redis.hget(BoardKeys(round_.id, LIVE).rows, str(participant.user["id"])) is None
    stored = await db.get(Attempt, attempt["attempt_id"])
    assert stored is not None and stored.status == "submitted" and stored.correct == 3
    assert len(reads) <= 1
