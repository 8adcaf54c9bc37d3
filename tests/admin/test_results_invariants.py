"""Invariant test: ANY sequence of organizer edits of the round's close, participants opening,
saving and submitting, time passing, then the judges' freeze, keeps
- no attempt outliving its round (an open attempt's deadline never passes the round's close; no
  submission after it),
- every acknowledged answer stored,
- after the freeze: board (even rebuilt after a Redis flush) = snapshot = ranking export, and the
  frozen round refuses edits."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.attempts.models import IN_PROGRESS, AttemptAnswer
from app.contests.models import Round
from app.core.clock import utcnow
from app.judging.frozen import iter_rows, latest_snapshot
from app.judging.snapshots import verify
from app.leaderboard.board import ALL, FINAL, BoardKeys, RoundBoard
from app.leaderboard.rebuild import rebuild_boards
from tests.admin.helpers import make_staff
from tests.admin.test_results_integrity import (
    advance_time,
    assert_no_attempt_outlives_its_round,
    attempts_of,
    exported,
    round_body,
    table,
)
from tests.attempts.helpers import correct_option, wrong_option

PEOPLE = 3
step = st.one_of(
    st.tuples(st.just("open"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("save"), st.integers(0, PEOPLE - 1), st.integers(0, 9), st.booleans()),
    st.tuples(st.just("submit"), st.integers(0, PEOPLE - 1)),
    st.tuples(st.just("move_close"), st.sampled_from([-30, 4, 20, 900])),
    st.tuples(st.just("advance"), st.sampled_from([2, 25])),
)


@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(step, min_size=3, max_size=12))
async def test_any_sequence_of_edits_saves_and_freeze_keeps_results_consistent(factory, app, client, redis,
                                                                                tmp_path_factory, steps):
    round_ = await factory.round(questions_per_attempt=10, time_limit_seconds=300)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    people = [await factory.participant(unit=u) for u in ("Sở Tư pháp", "sở tư pháp", "")]
    opened: dict[int, dict] = {}
    acknowledged: dict[tuple[int, int], str] = {}  # (attempt, question) -> option token saved last

    async def current_round() -> Round:
        async with app.state.runtime.sessionmaker() as s:
            return await s.get(Round, round_.id)

    for action, *args in steps:
        if action == "open":
            r = await people[args[0]].call("POST", f"/api/v1/rounds/{round_.id}/attempts")
            assert r.status_code in (200, 201, 409), r.text
            if r.status_code in (200, 201):
                opened[args[0]] = r.json()
        elif action == "save" and args[0] in opened:
            attempt = opened[args[0]]
            q = attempt["questions"][args[1]]
            option = correct_option(q) if args[2] else wrong_option(q)
            r = await people[args[0]].call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                           json={"option_id": option})
            assert r.status_code in (200, 409), r.text
            if r.status_code == 200:
                acknowledged[(attempt["attempt_id"], q["id"])] = option
        elif action == "submit" and args[0] in opened:
            r = await people[args[0]].call("POST", f"/api/v1/attempts/{opened[args[0]]['attempt_id']}/submit",
                                           json={"prediction": 1})
            assert r.status_code in (200, 409), r.text
        elif action == "move_close":
            body = round_body(await current_round(), close_at=utcnow() + timedelta(seconds=args[0]))
            r = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}", json=body)
            assert r.status_code in (200, 422), r.text
        elif action == "advance":
            await advance_time(app, round_.id, args[0])
        await assert_no_attempt_outlives_its_round(app, round_.id)

    # The round ends; the judges freeze it.
    left = (await current_round()).close_at - utcnow()
    await advance_time(app, round_.id, max(left.total_seconds(), 0) + 2)
    closing = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})
    assert closing.status_code == 201, closing.text
    attempts = await attempts_of(app, round_.id)
    assert all(a.status != IN_PROGRESS for a in attempts)
    await assert_no_attempt_outlives_its_round(app, round_.id)
    async with app.state.runtime.sessionmaker() as s:
        stored = {(a, q): o for a, q, o in await s.execute(select(AttemptAnswer.attempt_id, AttemptAnswer.question_id,
                                                                     AttemptAnswer.option_id))}
        snapshot = await latest_snapshot(s, round_.id)
        assert await verify(s, snapshot)
        frozen = [r async for r in iter_rows(s, snapshot.id)]
    tokens = app.state.runtime.option_tokens
    for (attempt_id, question_id), token in acknowledged.items():
        paper = {q: opts for q, opts in next(a.paper for a in attempts if a.id == attempt_id)}
        assert stored[(attempt_id, question_id)] == tokens.resolve(attempt_id, paper[question_id], token)
    # One row per person who sat the round (all their attempts are closed and graded by now), each
    # with one of their own attempts.
    assert sorted(r.user_id for r in frozen) == sorted({a.user_id for a in attempts})
    assert all(next(a.user_id for a in attempts if a.id == r.attempt_id) == r.user_id for r in frozen)
    # Board after a flush = snapshot = ranking export.
    await redis.flushdb()
    if app.state.runtime.board_redis is not redis:
        await app.state.runtime.board_redis.flushdb()
    async with app.state.runtime.sessionmaker() as s:
        await rebuild_boards(s, app.state.runtime.board_redis, round_.id)
    _, lines = await RoundBoard(app.state.runtime.board_redis, BoardKeys(round_.id, FINAL)).page(ALL, 0, 100)
    assert [x.user_id for x in lines] == [r.user_id for r in frozen]
    if frozen:
        header, rows = table(await exported(app, "ranking", round_.id, tmp_path_factory.mktemp("x") / "r.xlsx"),
                             "Xếp hạng", "Hạng")
        assert [r[header.index("Mã lượt thi")] for r in rows] == [r.attempt_id for r in frozen]
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    refused = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}",
                                   json=round_body(await current_round(), close_at=utcnow() + timedelta(days=1)))
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "round_frozen"
