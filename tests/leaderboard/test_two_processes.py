"""Two real app processes (uvicorn) sharing the database and the board's Redis — a single Redis,
then a 3-node Redis Cluster — with participants submitting through both at once."""
from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from app.leaderboard.board import LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import best_per_user, live_key, user_of_member
from app.leaderboard.ranking import load_results
from app.leaderboard.rebuild import rebuild_live_board
from tests.factories import profile
from tests.leaderboard.journey import take_attempt
from tests.leaderboard.test_rebuild import snapshot
from tests.live import running_server


async def submit_through_both(factory, bases: list[str], participants: int) -> int:
    round_ = await factory.round(questions_per_attempt=5, attempts_allowed=2)
    rng = random.Random(11)
    clients = [httpx.AsyncClient(base_url=b, timeout=30) for b in bases]
    try:
        async def participant(i: int):
            http = clients[i % 2]
            registered = await http.post("/api/v1/auth/register", json=profile(
                full_name="Nguyễn Văn An", unit=rng.choice(["Sở Tư pháp", "Sở Y tế", "Công an tỉnh"]),
                province=rng.choice(["Hà Nội", "Nghệ An"])))
            assert registered.status_code == 201, registered.text
            headers = {"Authorization": f"Bearer {registered.json()['token']}"}

            async def call(method, url, **kwargs):
                # Each request goes to either process, as behind a load balancer.
                return await rng.choice(clients).request(method, url, headers=headers, **kwargs)

            await take_attempt(call, round_.id, rng.randrange(6))
            await take_attempt(call, round_.id, rng.randrange(6))

        await asyncio.gather(*(participant(i) for i in range(participants)))
        # The same submit sent to both processes at once is recorded once.
        last = await clients[0].post("/api/v1/auth/register", json=profile())
        headers = {"Authorization": f"Bearer {last.json()['token']}"}
        opened = (await clients[0].post(f"/api/v1/rounds/{round_.id}/attempts", headers=headers)).json()
        url = f"/api/v1/attempts/{opened['attempt_id']}/submit"
        both = await asyncio.gather(*(c.post(url, json={"prediction": 1}, headers=headers) for c in clients))
        assert [r.status_code for r in both] == [200, 200] and both[0].json() == both[1].json()
        return round_.id
    finally:
        for c in clients:
            await c.aclose()


async def assert_board_is_the_databases(db, redis, round_id: int, participants: int) -> None:
    results = await load_results(db, round_id)
    expected = [r.user_id for r in sorted(best_per_user(results, live_key).values(), key=live_key)]
    board = RoundBoard(redis, BoardKeys(round_id, LIVE))
    assert [user_of_member(m) for m in await board.members()] == expected
    assert len(expected) == participants + 1
    before = await snapshot(redis, round_id)
    await rebuild_live_board(db, redis, round_id)
    assert await snapshot(redis, round_id) == before


@pytest.mark.slow
async def test_two_processes_on_one_redis(factory, settings, app, db, redis):
    with running_server() as a, running_server() as b:
        round_id = await submit_through_both(factory, [a, b], 16)
    await assert_board_is_the_databases(db, redis, round_id, 16)


@pytest.mark.slow
async def test_two_processes_with_the_boards_on_a_redis_cluster(factory, settings, app, db, cluster_urls, cluster):
    env = {"LEADERBOARD_REDIS_URL": cluster_urls[1], "LEADERBOARD_REDIS_CLUSTER": "true"}
    with running_server(env) as a, running_server(env) as b:
        round_id = await submit_through_both(factory, [a, b], 16)
        async with httpx.AsyncClient(base_url=a, timeout=10) as http:
            board = (await http.get(f"/api/v1/rounds/{round_id}/leaderboard")).json()
            assert board["participants"] == 17
    await assert_board_is_the_databases(db, cluster, round_id, 16)
