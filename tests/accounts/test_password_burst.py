"""A burst of logins at the round's opening hour: password hashing runs a bounded number at a
time (app/accounts/passwords.py), the overflow is given a place in the line and told to come back
(app/accounts/login_line.py), and people already inside an attempt keep saving answers meanwhile."""
from __future__ import annotations

import asyncio
import threading

import httpx
import pytest

from app.accounts import passwords
from tests.attempts.helpers import correct_option
from tests.factories import profile
from tests.web.test_pages_without_javascript import csrf_of


class HeldHasher:
    """The real hasher, held at a gate: hashes in progress stay in progress until released."""

    def __init__(self, real):
        self.real = real
        self.gate = threading.Event()
        self.started = 0

    def hash(self, password):
        self.started += 1
        self.gate.wait(10)
        return self.real.hash(password)

    def verify(self, stored, password):
        self.started += 1
        self.gate.wait(10)
        return self.real.verify(stored, password)


@pytest.fixture
def held(monkeypatch):
    hasher = HeldHasher(passwords._hasher())
    monkeypatch.setattr(passwords, "_hasher", lambda: hasher)
    monkeypatch.setattr(passwords, "_pool", passwords.HashPool(threads=1, queue=1))
    yield hasher
    hasher.gate.set()


async def _until(condition) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("never happened")


async def test_a_login_burst_is_bounded_and_the_overflow_is_asked_to_retry(client, factory, held, app):
    round_ = await factory.round(questions_per_attempt=3)
    inside = await factory.participant()
    opened = (await inside.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    people = [profile() for _ in range(3)]
    for person in people:  # registered beforehand, hashing unheld
        held.gate.set()
        assert (await client.post("/api/v1/auth/register", json=person)).status_code == 201
        client.cookies.clear()
    held.gate.clear()
    held.started = 0

    async def login(person):
        return await client.post("/api/v1/auth/login", json={"login": person["phone"], "password": person["password"]})

    first = asyncio.create_task(login(people[0]))
    await _until(lambda: held.started == 1)  # one hash running
    second = asyncio.create_task(login(people[1]))  # one waiting its turn
    await _until(lambda: passwords.pool().in_flight == 2)
    refused = await login(people[2])
    # Threads and queue all taken: the line (app/accounts/login_line.py) lets nobody more in, and
    # the newcomer gets a place in it instead of a hash it would have to wait out in memory.
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "login_queue"
    assert "vị trí số 1" in refused.json()["error"]["message"]
    assert int(refused.headers["retry-after"]) >= 1
    # The page shows the same on the form, not an error page.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as browser:
        form = await browser.get("/login")
        page = await browser.post("/login", data={"login": people[2]["phone"], "password": people[2]["password"],
                                                 "csrf_token": csrf_of(form.text)})
        assert page.status_code == 429 and "vị trí số 1" in page.text and 'name="password"' in page.text

    # Hashing is stuck, yet the participant inside the attempt saves and submits at once.
    for question in opened["questions"]:
        saved = await inside.call("PUT", f"/api/v1/attempts/{opened['attempt_id']}/answers/{question['id']}",
                                  json={"option_id": correct_option(question)})
        assert saved.status_code == 200
    assert not first.done() and held.started == 1  # still only one hash at a time

    held.gate.set()
    assert (await first).status_code == 200 and (await second).status_code == 200
    assert (await login(people[2])).status_code == 200  # coming back later works
