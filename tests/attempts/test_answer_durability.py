"""An answer is acknowledged only once committed, and never committed into a closed attempt:
the single-statement save (app.attempts.answers) against a submit that is closing the attempt
at that very moment, in a transaction of its own on the real database."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import select, text, update

from app.attempts.answers import commit_answer
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
    async with app.state.sessionmaker() as db:
        rows = await db.execute(select(AttemptAnswer.question_id, AttemptAnswer.option_id)
                                .where(AttemptAnswer.attempt_id == attempt_id))
        return dict(rows.all())


@pytest.mark.parametrize("closer_commits", [True, False], ids=["submit-commits", "submit-rolls-back"])
async def test_a_save_waits_for_a_closing_submit_and_is_refused_or_kept(factory, db, app, closer_commits):
    attempt_id, question_id, option_id = await _paper(factory, db)
    async with app.state.engine.connect() as closer:
        # The submit's transaction has closed the attempt but not committed yet.
        await closer.execute(update(Attempt).where(Attempt.id == attempt_id).values(status="submitted"))
        async with app.state.sessionmaker() as saver:
            save = asyncio.create_task(commit_answer(saver, attempt_id, question_id, option_id, truncate_ms(utcnow())))
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
    async with app.state.sessionmaker() as saver:
        assert await commit_answer(saver, attempt_id, question_id, option_id, truncate_ms(utcnow()))
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
            async with other.state.engine.connect() as conn:  # the one pooled connection
                backend = await conn.scalar(text("SELECT pg_backend_pid()"))
            await db.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})  # as a restart would
            await db.rollback()
            second = await client.put(url + str(q2["id"]), json={"option_id": correct_option(q2)},
                                      headers=participant.headers)
    assert second.status_code == 200, second.text
    assert set(await _stored(app, attempt["attempt_id"])) == {q1["id"], q2["id"]}
