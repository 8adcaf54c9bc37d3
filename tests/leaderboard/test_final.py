"""The final ranking of a closed round, computed from the database with T (entered by the judge
or computed), and its publication as the final board."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from app.attempts.models import IN_PROGRESS, Attempt
from app.contests.models import Round
from app.core.clock import utcnow
from app.leaderboard.board import LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import Result, live_entry
from app.leaderboard.ranking import compute_truth, count_all_correct, final_ranking, load_results
from tests.leaderboard.conftest import make_staff

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


async def closed_round(factory, **fields):
    now = utcnow()
    return await factory.round(open_at=now - timedelta(days=7), close_at=now - timedelta(minutes=5), **fields)


async def seed_round(seed, round_id: int) -> dict[str, int]:
    """Five participants; three of them have an all-correct counted attempt (T = 3)."""
    u = {name: await seed.user(full_name=name, unit=unit, province=province)
         for name, unit, province in [("Lê Văn Bình", "Sở Tư pháp", "Hà Nội"),
                                      ("Phạm Thị Cúc", "Sở Y tế", "Hà Nội"),
                                      ("Hoàng Văn Dũng", "Sở Tư pháp", "Nghệ An"),
                                      ("Vũ Thị Hà", None, None),
                                      ("Đỗ Văn Khoa", "Sở Y tế", "Nghệ An")]}
    # Bình: all correct twice (counts once in T), predicted 10 then 3.
    await seed.attempt(round_id, u["Lê Văn Bình"], 10, 90_000, prediction=10, submitted_at=T0)
    await seed.attempt(round_id, u["Lê Văn Bình"], 10, 95_000, prediction=3, submitted_at=T0 + timedelta(hours=1))
    await seed.attempt(round_id, u["Phạm Thị Cúc"], 10, 60_000, prediction=4, submitted_at=T0)
    await seed.attempt(round_id, u["Hoàng Văn Dũng"], 10, 30_000, prediction=None, submitted_at=T0)
    await seed.attempt(round_id, u["Vũ Thị Hà"], 9, 10_000, prediction=3, submitted_at=T0)
    await seed.attempt(round_id, u["Đỗ Văn Khoa"], 9, 10_000, prediction=3, submitted_at=T0 - timedelta(seconds=1))
    return u


async def test_final_ranking_with_t_computed_or_entered(factory, seed, db, redis):
    round_ = await closed_round(factory)
    u = await seed_round(seed, round_.id)
    assert count_all_correct(await load_results(db, round_.id)) == 3
    assert await compute_truth(db, round_.id) == 3

    ranking = await final_ranking(db, round_.id, None)  # T computed: 3
    names = {v: k for k, v in u.items()}
    # 10 correct: Bình's second attempt is exactly 3 (distance 0) although slower than his first;
    # Cúc is 1 away; Dũng gave no prediction (after any given one) although fastest.
    # 9 correct: Khoa and Hà tie on distance and time; Khoa submitted earlier.
    assert [names[e.user_id] for e in ranking] == ["Lê Văn Bình", "Phạm Thị Cúc", "Hoàng Văn Dũng",
                                                   "Đỗ Văn Khoa", "Vũ Thị Hà"]
    first = ranking[0]
    assert (first.position, first.prediction, first.distance, first.time_ms) == (1, 3, 0, 95_000)
    assert ranking[2].distance is None and ranking[3].unit == "Sở Y tế" and ranking[4].unit is None

    # T entered by the judge as 10: Bình's first attempt (distance 0) now counts.
    ranking = await final_ranking(db, round_.id, 10)
    assert [names[e.user_id] for e in ranking][:3] == ["Lê Văn Bình", "Phạm Thị Cúc", "Hoàng Văn Dũng"]
    assert (ranking[0].prediction, ranking[0].distance, ranking[0].time_ms) == (10, 0, 90_000)
    assert ranking[1].distance == 6

    # T = 4: Cúc exact, Bình 1 away.
    ranking = await final_ranking(db, round_.id, 4)
    assert [names[e.user_id] for e in ranking][:2] == ["Phạm Thị Cúc", "Lê Văn Bình"]

    # The live board in Redis plays no part: damage it, the final ranking does not move.
    await RoundBoard(redis, BoardKeys(round_.id, LIVE)).record(live_entry(Result(
        attempt_id=10**9, user_id=u["Vũ Thị Hà"], correct=10, total=10, time_ms=1, submitted_at=T0, prediction=4)))
    assert [e.user_id for e in await final_ranking(db, round_.id, 4)] == [e.user_id for e in ranking]


async def test_without_the_prediction_question_the_key_is_skipped(factory, seed, db):
    round_ = await closed_round(factory, prediction_enabled=False)
    u = await seed_round(seed, round_.id)
    ranking = await final_ranking(db, round_.id, 3)
    names = {v: k for k, v in u.items()}
    assert [names[e.user_id] for e in ranking] == ["Hoàng Văn Dũng", "Phạm Thị Cúc", "Lê Văn Bình",
                                                   "Đỗ Văn Khoa", "Vũ Thị Hà"]
    assert all(e.distance is None for e in ranking)


async def test_judge_finalizes_a_closed_round_and_the_final_board_is_published(factory, seed, client, db):
    round_ = await closed_round(factory)
    u = await seed_round(seed, round_.id)
    # An attempt its owner abandoned, which the sweep has not closed yet: finalizing closes it at
    # its deadline with what was saved (nothing: 0 correct), so T and the ranking see it.
    late = await seed.user(full_name="Ngô Văn Muộn")
    async with factory.app.state.runtime.sessionmaker() as s:
        started = utcnow() - timedelta(hours=1)
        s.add(Attempt(round_id=round_.id, user_id=late, seq=1, status=IN_PROGRESS, started_at=started,
                      deadline=started + timedelta(minutes=15), paper=[], total=10))
        await s.commit()

    participant = await factory.participant()
    url = f"/api/v1/rounds/{round_.id}/leaderboard/finalize"
    refused = await participant.call("POST", url, json={"prediction_truth": 4})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    judge = await factory.participant()
    await make_staff(factory.app, judge.user["id"])

    open_round = await factory.round()
    early = await judge.call("POST", f"/api/v1/rounds/{open_round.id}/leaderboard/finalize", json={})
    assert early.status_code == 409 and early.json()["error"]["code"] == "round_not_closed"
    bad = await judge.call("POST", url, json={"prediction_truth": -1})
    assert bad.status_code == 422

    done = await judge.call("POST", url, json={})  # T computed
    assert done.status_code == 200, done.text
    assert done.json() == {"round_id": round_.id, "prediction_truth": 3, "computed_truth": 3, "participants": 6}
    db.expire_all()
    assert (await db.get(Round, round_.id)).prediction_truth == 3
    assert (await db.scalar(select(Attempt.status).where(Attempt.user_id == late))) == "submitted"
    await db.commit()  # (SQLite: a test's open transaction would hold the write lock)

    board = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard?limit=10")).json()
    assert board["phase"] == "final" and board["prediction_truth"] == 3 and board["participants"] == 6
    assert [r["name"] for r in board["rows"]][:2] == ["Lê V. B.", "Phạm T. C."]
    assert (board["rows"][0]["prediction"], board["rows"][0]["distance"]) == (3, 0)

    # The judge corrects T to 4: the final board is republished in the new order.
    done = await judge.call("POST", url, json={"prediction_truth": 4})
    assert done.json()["prediction_truth"] == 4 and done.json()["computed_truth"] == 3
    board = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard?limit=10")).json()
    assert board["prediction_truth"] == 4
    assert board["rows"][0]["name"] == "Phạm T. C." and board["rows"][0]["distance"] == 0
    expected = [e.user_id for e in await final_ranking(db, round_.id, 4)]
    assert expected[0] == u["Phạm Thị Cúc"]
    await db.commit()
    page = await client.get(f"/rounds/{round_.id}/leaderboard")
    assert "Kết quả chính thức" in page.text and "Phạm T. C." in page.text
