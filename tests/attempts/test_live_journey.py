"""The whole journey over real HTTP against a uvicorn process: what a phone app would do."""
from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import select

from app.attempts.models import Attempt
from tests.attempts.helpers import correct_option
from tests.factories import profile


async def test_journey_over_http(factory, live_server):
    round_ = await factory.round(questions_per_attempt=10)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        data = profile()
        registered = await http.post("/api/v1/auth/register", json=data)
        assert registered.status_code == 201
        headers = {"Authorization": f"Bearer {registered.json()['token']}"}
        contests = (await http.get("/api/v1/contests")).json()
        assert any(c["id"] == round_.contest_id and c["open_round_id"] == round_.id for c in contests)
        contest = (await http.get(f"/api/v1/contests/{round_.contest_id}")).json()
        assert contest["rules_text"] and contest["rounds"][0]["status"] == "open"

        attempt = (await http.post(f"/api/v1/rounds/{round_.id}/attempts", headers=headers)).json()
        for q in attempt["questions"]:
            saved = await http.put(f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                                   json={"option_id": correct_option(q)}, headers=headers)
            assert saved.status_code == 200
        result = await http.post(f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 3},
                                 headers=headers)
        assert result.status_code == 200
        assert (result.json()["correct"], result.json()["total"]) == (10, 10)
        me = (await http.get("/api/v1/me", headers=headers)).json()
        assert me["phone"] == data["phone"]


async def test_the_servers_sweep_closes_abandoned_attempts(factory, live_server, db):
    round_ = await factory.round(time_limit_seconds=1)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        registered = await http.post("/api/v1/auth/register", json=profile())
        headers = {"Authorization": f"Bearer {registered.json()['token']}"}
        attempt = (await http.post(f"/api/v1/rounds/{round_.id}/attempts", headers=headers)).json()
    # Nobody touches the attempt again; the server's periodic sweep (every 1 s here) must close it.
    for _ in range(50):
        await asyncio.sleep(0.2)
        db.expire_all()
        status = await db.scalar(select(Attempt.status).where(Attempt.id == attempt["attempt_id"]))
        await db.rollback()
        if status == "submitted":
            break
    assert status == "submitted"
    closed = await db.get(Attempt, attempt["attempt_id"])
    assert closed.auto_submitted and closed.time_ms == 1000
