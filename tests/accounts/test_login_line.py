"""The password checks' line (app/accounts/login_line.py): when logins come faster than the
hashing threads, the overflow waits in a first-come-first-served line shared through Redis, is told
its place, and keeps it when it presses again; an idle system never queues anyone."""

from __future__ import annotations

import secrets

import httpx
import pytest

from app.accounts.login_line import LINE_KEY, HashingHealth, LoginLine, LoginQueued, ticket_of
from app.accounts.passwords import HashPool
from app.attempts.waiting_room import WaitingRoom
from tests.factories import profile
from tests.web.test_pages_without_javascript import csrf_of


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _line(redis, clock, hashing: HashPool, rate: float = 1.0, burst: int = 1) -> LoginLine:
    health = HashingHealth(hashing)
    # A line of its own per test (its clock is the test's; tickets are per login typed, distinct too).
    room = WaitingRoom(redis, key=f"{LINE_KEY}:{secrets.token_hex(4)}", rate=rate, burst=burst, ticket_ttl=120, clock=clock, load=health)
    return LoginLine(room, health)


async def _place(line: LoginLine, who: str) -> int:
    try:
        await line.wait_turn(who)
    except LoginQueued as queued:
        return queued.details["position"]
    return 0


async def test_the_overflow_waits_in_arrival_order_and_keeps_its_place(app):
    redis = app.state.runtime.redis
    clock = Clock()
    busy = HashPool(threads=2, queue=2)
    busy.in_flight = 2  # every thread hashing, the queue free: not idle, full health
    line = _line(redis, clock, busy)
    # The idle burst lets the first in; the others queue in the order they came.
    assert [await _place(line, who) for who in ("0911000001", "0911000002", "0911000003")] == [0, 1, 2]
    # Pressing again keeps one's place (and does not push anyone back).
    assert await _place(line, "0911000003") == 2
    assert await _place(line, "0911000002") == 1
    clock.now += 1.0  # one second at 1 login/s: the next one's turn
    assert await _place(line, "0911000003") == 1
    assert await _place(line, "0911000002") == 0
    clock.now += 1.0
    assert await _place(line, "0911000003") == 0


async def test_a_full_hashing_pool_holds_the_line_back(app):
    redis = app.state.runtime.redis
    clock = Clock()
    full = HashPool(threads=1, queue=1)
    full.in_flight = 2  # threads and queue all taken: nobody more until they are done
    line = _line(redis, clock, full, rate=10.0, burst=1)
    # Not even the idle burst: the pool would refuse them anyway.
    assert [await _place(line, who) for who in ("0912000001", "0912000002", "0912000003")] == [1, 2, 3]
    clock.now += 0.5  # five logins' worth of time at full health; a tenth of the pace when full
    assert await _place(line, "0912000001") == 1
    full.in_flight = 0  # the hashes are done: threads free, full health
    clock.now += 0.5
    assert await _place(line, "0912000002") == 0


async def test_someone_alone_is_never_queued(app):
    redis = app.state.runtime.redis
    clock = Clock()
    free = HashPool(threads=1, queue=1)
    line = _line(redis, clock, free, rate=0.001, burst=1)  # a line that barely moves
    for i in range(5):  # one after another, each with a thread free: straight in
        assert await _place(line, f"09130000{i:02d}") == 0


async def test_the_api_and_the_login_page_give_the_place_in_line(app, client, factory, monkeypatch):
    person = profile()
    assert (await client.post("/api/v1/auth/register", json=person)).status_code == 201
    client.cookies.clear()
    runtime = app.state.runtime
    clock = Clock()
    busy = HashPool(threads=1, queue=4)
    busy.in_flight = 1
    monkeypatch.setattr(runtime, "login_line", _line(runtime.redis, clock, busy, rate=1.0, burst=1))
    for who in ("0914000001", "0914000002", "0914000003"):  # three came first
        await _place(runtime.login_line, who)

    refused = await client.post("/api/v1/auth/login", json={"login": person["phone"], "password": person["password"]})
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "login_queue" and error["details"]["position"] == 3
    assert int(refused.headers["retry-after"]) >= 1 and "vị trí số 3" in error["message"]

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        form = await browser.get("/login")
        page = await browser.post("/login", data={"login": person["phone"], "password": person["password"],
                                                 "csrf_token": csrf_of(form.text)})
    # The form stays on screen with the place (the same one: it is the same login), not an error page.
    assert page.status_code == 429 and "vị trí số 3" in page.text and 'name="password"' in page.text

    # The line moves on (one a second); pressing again, the same login gets in on its turn.
    waited = 0
    while True:
        clock.now += 1
        waited += 1
        again = await client.post("/api/v1/auth/login", json={"login": person["phone"], "password": person["password"]})
        if again.status_code != 429:
            break
        assert again.json()["error"]["details"]["position"] <= 3 and waited < 10
    assert again.status_code == 200 and waited == 3, again.text


@pytest.mark.parametrize("rate", [0.0])
async def test_no_line_when_switched_off(app, rate):
    clock = Clock()
    busy = HashPool(threads=1, queue=1)
    busy.in_flight = 2
    line = _line(app.state.runtime.redis, clock, busy, rate=rate)
    assert [await _place(line, who) for who in ("0915000001", "0915000002")] == [0, 0]


async def test_the_line_hears_of_every_hash_done_to_follow_the_real_pace(app, client):
    """Each process reports its hashes done, so the line moves no faster than twice what the
    deployment really checks (it would otherwise run ahead of people sleeping out Retry-After)."""
    import asyncio

    from app.accounts.login_line import LINE_KEY

    redis = app.state.runtime.redis
    await redis.hdel(LINE_KEY, "opens", "opens_ts")  # the count decays with time: start it afresh
    person = profile()
    assert (await client.post("/api/v1/auth/register", json=person)).status_code == 201
    for _ in range(100):
        if await redis.hget(LINE_KEY, "opens_ts"):
            break
        await asyncio.sleep(0.02)
    assert float(await redis.hget(LINE_KEY, "opens") or 0) > 0
