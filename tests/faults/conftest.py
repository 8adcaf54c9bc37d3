"""Fixtures for fault injection: a private Redis, the app in its own uvicorn process, and a
participant driving it over real HTTP."""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx
import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from sqlalchemy import func, select

from app.attempts.models import Attempt, AttemptAnswer
from app.leaderboard.board import LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import live_key, ranked
from app.leaderboard.ranking import load_results
from app.leaderboard.rebuild import rebuild_live_board
from tests.attempts.helpers import correct_option
from tests.factories import profile
from tests.faults.processes import AppProcess, RedisServer


@pytest.fixture
def own_redis(settings):
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest_asyncio.fixture
async def own_redis_client(own_redis):
    client = aioredis.Redis.from_url(own_redis.url, decode_responses=True)
    yield client
    await client.aclose()


@pytest.fixture
def app_process(settings, own_redis):
    """The app in its own process on our private Redis (DATABASE_URL as the suite's)."""
    process = AppProcess({"REDIS_URL": own_redis.url})
    process.start()
    yield process
    process.stop()


@asynccontextmanager
async def http_to(base: str, timeout: float = 15):
    async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
        yield client


@dataclass(eq=False)
class Person:
    """A participant with a phone: logs in again when the server has forgotten the session."""

    http: httpx.AsyncClient
    data: dict
    token: str = ""
    acked: dict[int, str] = field(default_factory=dict)  # question id -> option token, as acknowledged

    @classmethod
    async def register(cls, http: httpx.AsyncClient) -> Person:
        person = cls(http, profile())
        r = await http.post("/api/v1/auth/register", json=person.data)
        assert r.status_code == 201, r.text
        person.token = r.json()["token"]
        http.cookies.clear()
        return person

    async def login(self) -> None:
        r = await self.http.post("/api/v1/auth/login", json={"login": self.data["phone"], "password": self.data["password"]})
        assert r.status_code == 200, r.text
        self.token = r.json()["token"]
        self.http.cookies.clear()

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    async def call(self, method: str, url: str, **kwargs) -> httpx.Response:
        r = await self.http.request(method, url, headers=self.headers, **kwargs)
        if r.status_code == 401:  # Redis lost the session: log in again, as the page would ask
            await self.login()
            r = await self.http.request(method, url, headers=self.headers, **kwargs)
        return r

    async def open(self, round_id: int) -> dict:
        r = await self.call("POST", f"/api/v1/rounds/{round_id}/attempts")
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def save(self, attempt_id: int, question: dict, option_id: str | None = None, **kwargs) -> httpx.Response:
        option_id = option_id or correct_option(question)
        r = await self.call("PUT", f"/api/v1/attempts/{attempt_id}/answers/{question['id']}",
                            json={"option_id": option_id}, **kwargs)
        if r.status_code == 200:
            self.acked[question["id"]] = option_id
        return r


def assert_unavailable_json(response: httpx.Response) -> None:
    """What a phone gets while a dependency is down: a clear Vietnamese message, never a trace."""
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["error"]["code"] == "service_unavailable"
    assert "không bị mất" in body["error"]["message"] and "thử lại" in body["error"]["message"]
    assert response.headers.get("retry-after")
    assert "Traceback" not in response.text and "Error" not in response.text


def assert_unavailable_page(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "tạm thời gián đoạn" in response.text
    assert "Traceback" not in response.text and "File \"" not in response.text


async def assert_nothing_lost(db, attempt_id: int, acked: dict[int, str], tokens, deadline: str | None = None):
    """Every acknowledged answer is in the database with the acknowledged option."""
    db.expire_all()
    rows = dict((await db.execute(select(AttemptAnswer.question_id, AttemptAnswer.option_id)
                                  .where(AttemptAnswer.attempt_id == attempt_id))).all())
    stored_deadline = await db.scalar(select(Attempt.deadline).where(Attempt.id == attempt_id))
    await db.rollback()
    for qid, token in acked.items():
        assert qid in rows, f"acknowledged answer to question {qid} lost"
        assert tokens.token(attempt_id, rows[qid]) == token
    if deadline is not None:
        from datetime import datetime

        assert stored_deadline == datetime.fromisoformat(deadline.replace("Z", "+00:00"))
    return rows


async def attempts_of(db, round_id: int) -> dict[int, int]:
    """user id -> number of attempts in the round."""
    rows = await db.execute(select(Attempt.user_id, func.count()).where(Attempt.round_id == round_id)
                            .group_by(Attempt.user_id))
    result = dict(rows.all())
    await db.rollback()
    return result


async def assert_board_equals_rebuild(db, redis, round_id: int, participants: int) -> None:
    """The live board Redis serves is exactly what a rebuild from the database gives, and that
    is the rules' order over the database's submitted attempts."""
    board = RoundBoard(redis, BoardKeys(round_id, LIVE))
    served = await board.members()
    expected = [f"{r.user_id}" for r in ranked(await load_results(db, round_id), live_key)]
    await rebuild_live_board(db, redis, round_id)
    rebuilt = await board.members()
    assert served == rebuilt
    assert [m.rsplit(":", 1)[-1] for m in served] == expected
    assert len(served) == participants
