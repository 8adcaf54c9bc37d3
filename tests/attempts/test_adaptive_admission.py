"""Adaptive admission (app/attempts/admission.py + the waiting room): the line moves at the pace
the process's measured load allows, the configured rate being only a ceiling.

The room's tests drive it with a load signal of their own (a figure the test sets) and a fake
clock, so every position is exact; the gauge's own tests feed it real load: opens held at its
gate and an event loop kept busy."""
from __future__ import annotations

import asyncio
import itertools
import time

import pytest
from sqlalchemy import func, select

from app.attempts import routes as attempt_routes
from app.attempts import service
from app.attempts.admission import GateTimeout, LoadGauge
from app.attempts.models import Attempt
from app.attempts.waiting_room import WaitingRoom
from tests.attempts.helpers import correct_option
from tests.attempts.test_waiting_room import Clock, _open, _place

_rooms = itertools.count()


class SetLoad:
    """A load signal the test sets by hand."""

    def __init__(self, health: float = 1.0):
        self.value = health

    def health(self) -> float:
        return self.value


def _room(app, monkeypatch, load, rate: float = 2, burst: int = 2, **options) -> WaitingRoom:
    clock = Clock()
    monkeypatch.setattr(service, "utcnow", lambda: clock.now)
    monkeypatch.setattr(attempt_routes, "utcnow", lambda: clock.now)
    room = WaitingRoom(app.state.runtime.redis, rate=rate, burst=burst, ticket_ttl=120,
                       clock=lambda: clock.now.timestamp(), key=f"{{wr}}:adaptive-{next(_rooms)}", load=load,
                       **options)
    monkeypatch.setattr(app.state.runtime, "waiting_room", room)
    room.test_clock = clock
    return room


async def test_a_full_process_slows_the_line_to_a_trickle_and_the_order_holds(factory, app, monkeypatch):
    load = SetLoad(0.0)
    room = _room(app, monkeypatch, load, rate=2, burst=2, min_share=0.1)
    round_ = await factory.round(questions_per_attempt=3)
    a, b, c = [await factory.participant() for _ in range(3)]
    # Even an idle room lets nobody straight in while the process is full.
    assert _place(await _open(a, round_.id)) == 1
    assert _place(await _open(b, round_.id)) == 2
    # The load does not fall: the line moves at a tenth of the ceiling (0.2/s), never stops.
    for _ in range(4):
        room.test_clock.advance(1)
        assert _place(await _open(b, round_.id)) == 2
    room.test_clock.advance(1)
    assert (await _open(a, round_.id)).status_code == 201  # five seconds for one place
    assert _place(await _open(b, round_.id)) == 1

    load.value = 1.0  # caught up: the ceiling, 2 per second, first come first served
    assert _place(await _open(c, round_.id)) == 2  # a newcomer queues behind B
    room.test_clock.advance(0.5)
    assert (await _open(b, round_.id)).status_code == 201
    assert _place(await _open(c, round_.id)) == 1
    load.value = 0.5  # half the pace: one second lets one more in
    room.test_clock.advance(1)
    assert (await _open(c, round_.id)).status_code == 201


async def test_a_busy_spell_does_not_flush_the_line_at_once(factory, app, monkeypatch):
    """Nobody asked for a minute (everyone told to come back later): the next decision lets in
    at most one second's worth, not a minute's, since the load during that minute is unknown."""
    load = SetLoad(1.0)
    room = _room(app, monkeypatch, load, rate=2, burst=1)
    round_ = await factory.round(questions_per_attempt=3)
    people = [await factory.participant() for _ in range(6)]
    assert (await _open(people[0], round_.id)).status_code == 201
    assert [_place(await _open(p, round_.id)) for p in people[1:]] == [1, 2, 3, 4, 5]
    room.test_clock.advance(60)
    statuses = [(await _open(p, round_.id)).status_code for p in people[1:]]
    assert statuses == [201, 201, 429, 429, 429]


async def test_people_inside_go_on_while_the_room_is_closed_to_newcomers(factory, app, monkeypatch):
    load = SetLoad(1.0)
    _room(app, monkeypatch, load)
    round_ = await factory.round(questions_per_attempt=3)
    inside, newcomer = await factory.participant(), await factory.participant()
    opened = await _open(inside, round_.id)
    assert opened.status_code == 201
    attempt = opened.json()
    load.value = 0.0
    assert _place(await _open(newcomer, round_.id)) == 1
    for question in attempt["questions"]:
        saved = await inside.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                                  json={"option_id": correct_option(question)})
        assert saved.status_code == 200, saved.text
    resumed = await inside.call("GET", f"/api/v1/attempts/{attempt['attempt_id']}")
    assert resumed.status_code == 200
    again = await _open(inside, round_.id)  # another tab: the running attempt, not a place in line
    assert again.status_code == 200 and again.json()["attempt_id"] == attempt["attempt_id"]
    submitted = await inside.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 3})
    assert submitted.status_code == 200 and submitted.json()["correct"] == 3


async def test_admitted_opens_take_turns_at_the_gate_and_a_long_wait_is_a_retry_not_an_error(
        factory, app, monkeypatch, db):
    gauge = LoadGauge(limit=2, lag_bound_ms=0, gate_timeout=1.0)  # one open at a time, no lag signal
    room = _room(app, monkeypatch, gauge, rate=100, burst=100)
    round_ = await factory.round(questions_per_attempt=3, time_limit_seconds=600)
    person = await factory.participant()
    assert gauge.health() == 1.0
    async with gauge.opening():  # another open is running in this process
        assert gauge.health() == 1.0  # half the bound: still the full pace
        held = asyncio.create_task(_open(person, round_.id))
        for _ in range(500):  # the request reaches the gate (however slow this machine is today)
            if gauge.waiting:
                break
            await asyncio.sleep(0.01)
        assert gauge.waiting == 1 and gauge.health() == 0.0  # full: the line stops for everyone
        told = await held
    assert _place(told) == 1  # waited its turn too long: come back in a second, first in line
    count = await db.scalar(select(func.count()).select_from(Attempt).where(Attempt.user_id == person.user["id"]))
    assert count == 0  # nothing half-done, and no clock started
    await db.rollback()  # SQLite: our read must not hold the file while the app writes
    room.test_clock.advance(5)
    opened = await _open(person, round_.id)
    assert opened.status_code == 201, opened.text
    assert opened.json()["remaining_ms"] == 600_000  # the time limit starts now, at the real open
    assert gauge.running == gauge.waiting == 0


async def test_the_gate_lets_opens_through_in_arrival_order():
    gauge = LoadGauge(limit=2, lag_bound_ms=0, gate_timeout=5)
    order: list[int] = []

    async def one_open(n: int):
        async with gauge.opening():
            order.append(n)
            await asyncio.sleep(0.01)

    async with gauge.opening():
        tasks = []
        for n in range(5):
            tasks.append(asyncio.create_task(one_open(n)))
            await asyncio.sleep(0)
        await asyncio.sleep(0.01)
        assert order == [] and gauge.waiting == 5
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    with pytest.raises(GateTimeout):
        gauge.gate_timeout = 0.01
        async with gauge.opening():
            async with gauge.opening():
                pass
    assert gauge.running == gauge.waiting == 0


async def test_a_busy_event_loop_closes_the_room_until_it_recovers():
    gauge = LoadGauge(limit=100, lag_bound_ms=100)
    gauge.start()
    try:
        await asyncio.sleep(0.12)
        assert gauge.health() == 1.0  # idle: timer jitter is far below half the bound
        time.sleep(0.3)  # some request hogs the loop: every task waits
        await asyncio.sleep(0.01)  # the sampler wakes up late and says so
        assert gauge.lag_ms >= 200 and gauge.health() == 0.0
        for _ in range(200):  # the spike fades once the loop is on time again
            if gauge.health() == 1.0:
                break
            await asyncio.sleep(0.05)
        assert gauge.health() == 1.0
    finally:
        await gauge.stop()


async def test_slow_answer_saves_close_the_room_and_it_reopens_when_they_are_fast_again(factory, app, monkeypatch):
    """The saves' own latency, as the worker's AnswerWriter reports it, is the signal the rush
    must not spoil: a slow save (a database slowed down by anything) stops admissions."""
    gauge = LoadGauge(limit=100, lag_bound_ms=0, save_bound_ms=200)
    writer = app.state.runtime.answer_writer
    monkeypatch.setattr(writer, "observe", gauge.observe_save)
    room = _room(app, monkeypatch, gauge, rate=100, burst=100)
    round_ = await factory.round(questions_per_attempt=3)
    inside, newcomer = await factory.participant(), await factory.participant()
    attempt = (await _open(inside, round_.id)).json()
    question = attempt["questions"][0]
    saved = await inside.call("PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                              json={"option_id": correct_option(question)})
    assert saved.status_code == 200
    assert gauge.save_ms > 0  # the save was reported

    gauge.observe_save(0.4)  # a save took 400 ms
    assert gauge.health() == 0.0
    assert _place(await _open(newcomer, round_.id)) == 1
    for _ in range(200):  # fading: about a second later the room is open again
        if gauge.health() == 1.0:
            break
        await asyncio.sleep(0.05)
    assert gauge.health() == 1.0
    room.test_clock.advance(1)
    assert (await _open(newcomer, round_.id)).status_code == 201


async def test_the_line_moves_no_faster_than_the_deployment_really_opens(factory, app, monkeypatch):
    """A ceiling set for bigger hosts (here 100/s) with a light load still admits only about twice
    the opens actually completed over the last seconds, plus a floor: a slow start, then more as
    people really come in, so nobody admitted piles up inside."""
    room = _room(app, monkeypatch, SetLoad(1.0), rate=100, burst=1, follow_opens=2, follow_floor=1)
    round_ = await factory.round(questions_per_attempt=3)
    people = [await factory.participant() for _ in range(8)]
    assert (await _open(people[0], round_.id)).status_code == 201  # the idle room's one
    assert [_place(await _open(p, round_.id)) for p in people[1:]] == [1, 2, 3, 4, 5, 6, 7]
    room.test_clock.advance(1)  # 100/s would let all seven in; one open done allows ~1.7/s
    assert [(await _open(p, round_.id)).status_code for p in people[1:]] == [201] + [429] * 6
    room.test_clock.advance(1)  # two opens in the last seconds: about 2.3 more
    assert [(await _open(p, round_.id)).status_code for p in people[2:]] == [201, 201, 429, 429, 429, 429]


async def test_people_opening_one_after_another_on_an_idle_system_are_never_queued(factory, app, monkeypatch):
    """The deployment's room (a gauge, a slow start following the opens really done) with a clock
    that does not move: whatever the pace, someone who presses "Bắt đầu" while nobody waits and
    nothing is opening is let straight in, however many came just before them, one at a time.
    A newcomer arriving while an open is in flight takes the line's pace (the idle way in is one
    at a time per process), and is let in as soon as the process is idle again."""
    gauge = LoadGauge(limit=4, lag_bound_ms=0, save_bound_ms=0)  # no timer or save signal: the test's own load
    room = _room(app, monkeypatch, gauge, rate=2, burst=1, follow_opens=2, follow_floor=1)
    round_ = await factory.round(questions_per_attempt=3, time_limit_seconds=600)
    people = [await factory.participant() for _ in range(12)]
    for person in people[:10]:
        opened = await _open(person, round_.id)
        assert opened.status_code == 201, opened.text  # never "vị trí số 1 ... khoảng 1 giây"
        assert opened.json()["remaining_ms"] == 600_000
    assert gauge.running == gauge.waiting == gauge.pending == 0

    waiting, after = people[10], people[11]
    async with gauge.opening():  # an open is running in this process: not idle
        assert _place(await _open(waiting, round_.id)) == 1
        assert _place(await _open(after, round_.id)) == 2
    assert (await _open(after, round_.id)).status_code == 429  # idle again, but someone is ahead
    assert (await _open(waiting, round_.id)).status_code == 201  # the next in line: straight in
    assert (await _open(after, round_.id)).status_code == 201
