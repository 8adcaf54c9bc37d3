"""The waiting room (app/attempts/waiting_room.py): when a round opens and everyone presses
"Bắt đầu thi" at once, opens beyond the admission rate wait in a fair line kept in Redis.

The in-process tests drive the room with a clock of their own (one admission per second), so
every position is exact; the two-process test moves the shared line forward by hand."""
from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from sqlalchemy import func, select

from app.attempts import routes as attempt_routes
from app.attempts import service
from app.attempts.models import Attempt
from app.attempts.waiting_room import WaitingRoom, ticket_key
from tests.attempts.helpers import correct_option
from tests.live import running_server
from tests.web.test_pages_without_javascript import csrf_of, register_through_form

_rooms = itertools.count()


class Clock:
    def __init__(self):
        self.now = datetime.now(timezone.utc).replace(microsecond=0)

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
async def room(app, monkeypatch):
    """One admission per second, one let straight in when idle; the app's clock and the room's
    are the same fake one."""
    clock = Clock()
    monkeypatch.setattr(service, "utcnow", lambda: clock.now)
    monkeypatch.setattr(attempt_routes, "utcnow", lambda: clock.now)
    waiting = WaitingRoom(app.state.runtime.redis, rate=1, burst=1, ticket_ttl=120, clock=lambda: clock.now.timestamp(),
                          key=f"{{wr}}:test-{next(_rooms)}")
    monkeypatch.setattr(app.state.runtime, "waiting_room", waiting)
    waiting.test_clock = clock
    return waiting


async def _open(participant, round_id):
    return await participant.call("POST", f"/api/v1/rounds/{round_id}/attempts")


def _place(response) -> int:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "waiting_room" and "hàng chờ" in error["message"]
    assert int(response.headers["retry-after"]) == error["details"]["retry_after_seconds"] >= 1
    return error["details"]["position"]


async def test_first_come_first_served_and_nobody_jumps_the_line(factory, room):
    round_ = await factory.round(questions_per_attempt=3)
    a, b, c = [await factory.participant() for _ in range(3)]
    assert (await _open(a, round_.id)).status_code == 201  # the idle room lets the first one in
    assert _place(await _open(b, round_.id)) == 1
    first_c = await _open(c, round_.id)
    assert _place(first_c) == 2
    assert first_c.json()["error"]["details"]["estimated_wait_seconds"] == 2

    room.test_clock.advance(1)
    # C asks first, but B came first: C is now next, B is in.
    assert _place(await _open(c, round_.id)) == 1
    d = await factory.participant()
    assert _place(await _open(d, round_.id)) == 2  # a newcomer queues behind C, not before
    assert (await _open(b, round_.id)).status_code == 201
    room.test_clock.advance(1)
    assert (await _open(c, round_.id)).status_code == 201
    assert _place(await _open(d, round_.id)) == 1


async def test_people_inside_an_attempt_are_never_queued(factory, room):
    round_ = await factory.round(questions_per_attempt=3)
    inside, waiting = await factory.participant(), await factory.participant()
    opened = await _open(inside, round_.id)
    assert opened.status_code == 201
    attempt = opened.json()
    assert _place(await _open(waiting, round_.id)) == 1  # the room is full from here on

    for question in attempt["questions"]:
        saved = await inside.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                                  json={"option_id": correct_option(question)})
        assert saved.status_code == 200, saved.text
    assert (await inside.call("GET", f"/api/v1/attempts/{attempt['attempt_id']}")).status_code == 200
    # Pressing "start" again (another tab) hands back the running attempt instead of a place in line,
    # also once the place they were admitted with has expired (a long attempt).
    again = await _open(inside, round_.id)
    assert again.status_code == 200 and again.json()["attempt_id"] == attempt["attempt_id"]
    await room.redis.delete(ticket_key(inside.user["id"], round_.id))
    again = await _open(inside, round_.id)
    assert again.status_code == 200 and again.json()["attempt_id"] == attempt["attempt_id"]
    assert not await room.redis.exists(ticket_key(inside.user["id"], round_.id))  # no place taken from others
    submitted = await inside.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 3})
    assert submitted.status_code == 200 and submitted.json()["correct"] == 3
    assert _place(await _open(waiting, round_.id)) == 1  # still waiting: time has not moved


async def test_the_time_limit_starts_when_the_attempt_really_opens(factory, room):
    round_ = await factory.round(questions_per_attempt=3, time_limit_seconds=600)
    first, late = await factory.participant(), await factory.participant()
    assert (await _open(first, round_.id)).status_code == 201
    queued_at = room.test_clock.now
    assert _place(await _open(late, round_.id)) == 1
    room.test_clock.advance(90)  # a long wait
    opened = await _open(late, round_.id)
    assert opened.status_code == 201, opened.text
    body = opened.json()
    started = datetime.fromisoformat(body["started_at"].replace("Z", "+00:00"))
    deadline = datetime.fromisoformat(body["deadline"].replace("Z", "+00:00"))
    assert started == queued_at + timedelta(seconds=90)
    assert deadline - started == timedelta(seconds=600)
    assert body["remaining_ms"] == 600_000


async def test_someone_who_gives_up_leaves_no_attempt_and_no_lasting_place(factory, room, db, redis):
    round_ = await factory.round(questions_per_attempt=3)
    first, quitter, next_one = [await factory.participant() for _ in range(3)]
    assert (await _open(first, round_.id)).status_code == 201
    assert _place(await _open(quitter, round_.id)) == 1
    assert _place(await _open(next_one, round_.id)) == 2
    # The quitter closes the tab. Their turn comes and goes; the next one is let in on time.
    room.test_clock.advance(2)
    assert (await _open(next_one, round_.id)).status_code == 201
    quitter_id = quitter.user["id"]
    count = await db.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == quitter_id))
    assert count == 0
    ttl = await redis.ttl(ticket_key(quitter_id, round_.id))
    assert 0 < ttl <= 120  # their place vanishes on its own


async def test_after_a_crowd_that_gave_up_someone_alone_walks_straight_in(factory, room, app, monkeypatch):
    """A rush where most people closed the tab leaves tickets nobody will use. Once nobody has
    come for longer than a ticket lives, they are all gone: someone pressing start in the quiet
    afternoon is not put behind them."""

    class Light:  # a load signal, as in production: one call moves the line by a second at most
        def health(self) -> float:
            return 1.0

    clock = room.test_clock
    paced = WaitingRoom(app.state.runtime.redis, rate=1, burst=1, ticket_ttl=120, clock=lambda: clock.now.timestamp(),
                        key=f"{{wr}}:test-{next(_rooms)}", load=Light())
    monkeypatch.setattr(app.state.runtime, "waiting_room", paced)
    round_ = await factory.round(questions_per_attempt=3)
    for i in range(30):  # 30 people took a place (one let in at once), then gave up
        await paced.admit_ticket(f"{{wr}}:t:gone-{i}:{round_.id}")
    clock.advance(10)
    assert _place(await _open(await factory.participant(), round_.id)) > 10  # gone ones still "ahead"
    clock.advance(paced.ticket_ttl + 1)  # then nobody came for a ticket's lifetime
    assert (await _open(await factory.participant(), round_.id)).status_code == 201


async def test_the_page_shows_a_self_refreshing_waiting_screen_not_an_error(factory, room, app):
    round_ = await factory.round(questions_per_attempt=3)
    first = await factory.participant()
    assert (await _open(first, round_.id)).status_code == 201
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        await register_through_form(browser)
        contest_page = await browser.get(f"/contests/{round_.contest_id}")
        # Without a place in line, the refresh address only leads back to the contest.
        stray = await browser.get(f"/rounds/{round_.id}/start")
        assert stray.status_code == 303 and stray.headers["location"] == f"/contests/{round_.contest_id}#round-{round_.id}"

        waiting = await browser.post(f"/rounds/{round_.id}/start", data={"csrf_token": csrf_of(contest_page.text)})
        assert waiting.status_code == 200, waiting.text
        assert "vị trí số <span data-position>1</span>" in waiting.text
        assert "Thời gian chờ không tính vào thời gian làm bài" in waiting.text
        refresh = re.search(r'<meta http-equiv="refresh" content="(\d+);url=([^"]+)">', waiting.text)
        assert refresh and refresh.group(2) == f"/rounds/{round_.id}/start"
        assert waiting.headers["retry-after"] == refresh.group(1)

        room.test_clock.advance(1)
        admitted = await browser.get(refresh.group(2))
        assert admitted.status_code == 303 and admitted.headers["location"].startswith("/attempts/")
        assert "Còn lại" in (await browser.get(admitted.headers["location"])).text


async def test_two_app_processes_share_one_line(factory, redis):
    """Two uvicorn processes on the same Redis, the line moved forward by hand (as time would)."""
    round_ = await factory.round(questions_per_attempt=3)
    env = {"ADMIT_OPENS_PER_SECOND": "0.001", "ADMIT_OPENS_BURST": "1"}
    await redis.delete("{wr}:open")
    with running_server(env) as one, running_server(env) as two:
        async with httpx.AsyncClient(base_url=one, timeout=30) as c1, httpx.AsyncClient(base_url=two, timeout=30) as c2:
            people = [await factory.participant(client) for client in (c1, c2, c1)]
            assert (await _open(people[0], round_.id)).status_code == 201
            assert _place(await _open(people[1], round_.id)) == 1  # through process two
            assert _place(await _open(people[2], round_.id)) == 2  # through process one
            # The second person asks the other process: the same place, not a new one.
            people[1].client = c1
            assert _place(await _open(people[1], round_.id)) == 1
            served = float(await redis.hget("{wr}:open", "served"))
            await redis.hset("{wr}:open", "served", served + 1)  # one admission's worth of time
            people[2].client = c2
            assert _place(await _open(people[2], round_.id)) == 1
            people[1].client = c2
            assert (await _open(people[1], round_.id)).status_code == 201
    await redis.delete("{wr}:open")
