"""An answer is acknowledged only once committed, and never committed into a closed attempt:
the group-committed save (app.attempts.answers.AnswerWriter) against a submit that is closing the
attempt at that very moment, in a transaction of its own on the real database; batches that mix
several attempts keep every request's own result; a batch that fails acknowledges nothing."""
from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest
from sqlalchemy import select, text, update

from app.attempts.answers import AnswersNotSaved
from app.attempts.models import Attempt, AttemptAnswer
from app.core.clock import truncate_ms, utcnow
from app.main import create_app
from tests.attempts.helpers import correct_option
from tests.attempts.test_attempt_rules import open_attempt


async def _paper(factory, db) -> tuple[int, int, int]:
    round_ = await factory.round()
    participant = await factory.participant()
    attempt_id = (await open_attempt(participant, round_.id))["attempt_id"]
    attempt = await db.get(Attempt, attempt_id)
    question_id, option_ids = attempt.paper[0]
    await db.rollback()
    return attempt_id, question_id, option_ids[0]


async def _stored(app, attempt_id: int) -> dict[int, int]:
    async with app.state.runtime.sessionmaker() as db:
        rows = await db.execute(select(AttemptAnswer.question_id, AttemptAnswer.option_id)
                                .where(AttemptAnswer.attempt_id == attempt_id))
        return dict(rows.all())


# What a submit writes when it closes an attempt: a row faked with only the status would be a
# submitted attempt without its time, which no real submit leaves and the leaderboards (rebuilt
# from the database by other tests sharing it) cannot rank.
def _submitted_now() -> dict:
    return {"status": "submitted", "submitted_at": truncate_ms(utcnow()), "correct": 0, "time_ms": 0}


@pytest.mark.parametrize("closer_commits", [True, False], ids=["submit-commits", "submit-rolls-back"])
async def test_a_save_waits_for_a_closing_submit_and_is_refused_or_kept(factory, db, app, closer_commits):
    attempt_id, question_id, option_id = await _paper(factory, db)
    async with app.state.runtime.engine.connect() as closer:
        # The submit's transaction has closed the attempt but not committed yet.
        await closer.execute(update(Attempt).where(Attempt.id == attempt_id).values(**_submitted_now()))
        save = asyncio.create_task(app.state.runtime.answer_writer.save(attempt_id, question_id, option_id,
                                                                truncate_ms(utcnow())))
        done, _ = await asyncio.wait({save}, timeout=0.5)
        assert not done, "the save must wait for the closing transaction, not slip past it"
        if closer_commits:
            await closer.commit()
        else:
            await closer.rollback()
        accepted = await asyncio.wait_for(save, 30)
    stored = await _stored(app, attempt_id)
    if closer_commits:
        assert accepted is False and stored == {}  # refused (409 to the client), nothing half-written
    else:
        assert accepted is True and stored == {question_id: option_id}  # acknowledged and durable


async def test_a_saved_answer_is_in_the_database_before_the_save_returns(factory, db, app):
    attempt_id, question_id, option_id = await _paper(factory, db)
    assert await app.state.runtime.answer_writer.save(attempt_id, question_id, option_id, truncate_ms(utcnow()))
    # Read on another connection: committed, not merely written in an open transaction.
    assert await _stored(app, attempt_id) == {question_id: option_id}


async def test_a_save_on_a_connection_the_database_dropped_is_retried_on_a_fresh_one(factory, db, app, settings,
                                                                                     is_postgres):
    if not is_postgres:
        pytest.skip("pooled server connections exist on PostgreSQL only")
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    q1, q2 = attempt["questions"][:2]
    # A second app process configured as `make bench` runs production: no ping on pool checkout.
    other = create_app(settings.model_copy(update={"db_pool_pre_ping": False}))
    async with other.router.lifespan_context(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as client:
            url = f"/api/v1/attempts/{attempt['attempt_id']}/answers/"
            first = await client.put(url + str(q1["id"]), json={"option_id": correct_option(q1)},
                                     headers=participant.headers)
            assert first.status_code == 200, first.text
            async with other.state.runtime.engine.connect() as conn:  # the one pooled connection
                backend = await conn.scalar(text("SELECT pg_backend_pid()"))
            await db.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})  # as a restart would
            await db.rollback()
            second = await client.put(url + str(q2["id"]), json={"option_id": correct_option(q2)},
                                      headers=participant.headers)
    assert second.status_code == 200, second.text
    assert set(await _stored(app, attempt["attempt_id"])) == {q1["id"], q2["id"]}


async def _papers(factory, db, count: int) -> list[tuple[int, list]]:
    """`count` attempts in progress with their papers: [(attempt_id, [[question_id, [option_id, ...]], ...])]."""
    round_ = await factory.round()
    papers = []
    for _ in range(count):
        participant = await factory.participant()
        attempt_id = (await open_attempt(participant, round_.id))["attempt_id"]
        papers.append((attempt_id, (await db.get(Attempt, attempt_id)).paper))
        await db.rollback()  # on SQLite every transaction holds the write lock (BEGIN IMMEDIATE)
    return papers


async def test_one_batch_of_several_attempts_keeps_each_result_and_refuses_only_the_closed_one(factory, db, app):
    papers = await _papers(factory, db, 4)
    closed_id = papers[1][0]
    writer = app.state.runtime.answer_writer
    # Each attempt answers every question, each with a different option position, so an answer
    # written under the wrong attempt or question would show.
    sent = {(attempt_id, qid): options[(i + n) % len(options)]
            for n, (attempt_id, paper) in enumerate(papers) for i, (qid, options) in enumerate(paper)}
    async with app.state.runtime.engine.connect() as closer:
        # A submit closes one attempt and has not committed yet when the batch arrives.
        await closer.execute(update(Attempt).where(Attempt.id == closed_id).values(**_submitted_now()))
        batches = writer.batches
        now = truncate_ms(utcnow())
        saves = asyncio.gather(*[writer.save(a, q, o, now) for (a, q), o in sent.items()])
        done, _ = await asyncio.wait({saves}, timeout=0.5)
        assert not done, "the batch holding the closing attempt's saves waits for the submit"
        await closer.commit()
        results = await asyncio.wait_for(saves, 30)
    assert writer.batches == batches + 1, "all of them were committed by one statement"
    acknowledged = {key: option for (key, option), ok in zip(sent.items(), results) if ok}
    assert {key for key in sent if key not in acknowledged} == {key for key in sent if key[0] == closed_id}
    async with app.state.runtime.sessionmaker() as reader:
        rows = await reader.execute(select(AttemptAnswer.attempt_id, AttemptAnswer.question_id,
                                           AttemptAnswer.option_id))
        stored = {(a, q): o for a, q, o in rows if a in {p[0] for p in papers}}
    assert stored == acknowledged


async def test_saves_of_several_participants_racing_a_submit_through_the_api(factory, db):
    round_ = await factory.round(questions_per_attempt=15)
    people = [await factory.participant() for _ in range(3)]
    attempts = [await open_attempt(p, round_.id) for p in people]

    async def put(person, attempt, question):
        option = correct_option(question)
        response = await person.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                                     json={"option_id": option})
        return attempt["attempt_id"], question["id"], option, response

    calls = [put(p, a, q) for p, a in zip(people, attempts) for q in a["questions"]]
    submit = people[0].call("POST", f"/api/v1/attempts/{attempts[0]['attempt_id']}/submit", json={"prediction": 3})
    *saves, submitted = await asyncio.gather(*calls, submit)
    assert submitted.status_code == 200
    assert all(r.status_code in (200, 409) for *_, r in saves)
    for attempt_id, question_id, option, response in saves:
        if response.status_code == 200:  # the answer echoed is the one this request sent
            assert (response.json()["question_id"], response.json()["option_id"]) == (question_id, option)
        else:
            assert attempt_id == attempts[0]["attempt_id"], "only the submitted attempt refuses saves"
    for attempt in attempts:
        stored = set((await db.scalars(select(AttemptAnswer.question_id)
                                       .where(AttemptAnswer.attempt_id == attempt["attempt_id"]))).all())
        acknowledged = {q for a, q, _, r in saves if a == attempt["attempt_id"] and r.status_code == 200}
        assert acknowledged <= stored
        if attempt is not attempts[0]:
            assert stored == {q["id"] for q in attempt["questions"]}
    await db.rollback()
    assert submitted.json()["correct"] == len(set((await db.scalars(
        select(AttemptAnswer.question_id).where(AttemptAnswer.attempt_id == attempts[0]["attempt_id"]))).all()))


@contextlib.asynccontextmanager
async def _refusing_option(app, is_postgres: bool, option_id: int):
    """Makes the database itself refuse one answer (as a failing statement would), then undoes it."""
    async with app.state.runtime.engine.begin() as conn:
        if is_postgres:
            await conn.execute(text(f"ALTER TABLE attempt_answers ADD CONSTRAINT test_refuse CHECK (option_id <> {option_id})"))
        else:
            await conn.execute(text(f"CREATE TRIGGER test_refuse BEFORE INSERT ON attempt_answers WHEN NEW.option_id = "
                                    f"{option_id} BEGIN SELECT RAISE(ABORT, 'refused'); END"))
    try:
        yield
    finally:
        async with app.state.runtime.engine.begin() as conn:
            if is_postgres:
                await conn.execute(text("ALTER TABLE attempt_answers DROP CONSTRAINT test_refuse"))
            else:
                await conn.execute(text("DROP TRIGGER test_refuse"))


async def test_a_batch_whose_statement_fails_acknowledges_none_of_its_saves(factory, db, app, client, is_postgres):
    papers = await _papers(factory, db, 3)
    writer = app.state.runtime.answer_writer
    poisoned = papers[0][1][0][1][0]  # the first option of the first attempt's first question
    now = truncate_ms(utcnow())
    items = [(attempt_id, qid, options[0]) for attempt_id, paper in papers for qid, options in paper[:3]]
    async with _refusing_option(app, is_postgres, poisoned):
        batches = writer.batches
        results = await asyncio.gather(*[writer.save(a, q, o, now) for a, q, o in items], return_exceptions=True)
        assert writer.batches == batches + 1
    assert all(isinstance(r, AnswersNotSaved) and r.status == 503 for r in results)
    for attempt_id, _ in papers:
        assert await _stored(app, attempt_id) == {}
    # Over HTTP: 503 with Retry-After and the error shape, and nothing pretends to be saved.
    round_ = await factory.round()
    participant = await factory.participant()
    attempt = await open_attempt(participant, round_.id)
    question = attempt["questions"][0]
    async with app.state.runtime.sessionmaker() as reader:
        paper = (await reader.get(Attempt, attempt["attempt_id"])).paper
    async with _refusing_option(app, is_postgres, next(o for q, opts in paper if q == question["id"] for o in opts[:1])):
        response = await participant.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                                          json={"option_id": question["options"][0]["id"]})
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["error"]["code"] == "service_unavailable"
    assert await _stored(app, attempt["attempt_id"]) == {}
    resumed = (await participant.call("GET", f"/api/v1/attempts/{attempt['attempt_id']}")).json()
    assert resumed["answers"] == {}
