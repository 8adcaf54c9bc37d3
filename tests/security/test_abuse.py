"""Abuse: rate limits (Redis-backed) with 429 + Retry-After, login lock-out, one attempt in
progress across devices, answers only inside the attempt and before its deadline (+ grace), and
no hint of the key in any response while the round runs."""
from __future__ import annotations

import asyncio
import json
import random
from contextlib import asynccontextmanager
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.attempts.helpers import correct_option
from tests.factories import profile


@asynccontextmanager
async def client_from(app, ip: str):
    """A client whose requests come from `ip` (as uvicorn reports the peer)."""
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def random_ip() -> str:
    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


@pytest.fixture
def tighten(app, monkeypatch):
    def set_(**values):
        for name, value in values.items():
            monkeypatch.setattr(app.state.runtime.settings, name, value)
    return set_


def assert_429(response: httpx.Response, code: str = "rate_limited") -> int:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == code
    retry_after = int(response.headers["retry-after"])
    assert retry_after >= 1
    return retry_after


async def test_login_is_rate_limited_per_ip_with_retry_after(app, tighten):
    tighten(rate_login_per_ip="3/60")
    async with client_from(app, random_ip()) as c:
        for i in range(3):
            r = await c.post("/api/v1/auth/login", json={"login": f"09{i}1234567", "password": "x"})
            assert r.status_code == 401
        refused = await c.post("/api/v1/auth/login", json={"login": "0931234567", "password": "x"})
        assert assert_429(refused) <= 60
        assert "thử lại sau" in refused.json()["error"]["message"]
    async with client_from(app, random_ip()) as other:  # another address is not affected
        r = await other.post("/api/v1/auth/login", json={"login": "0931234567", "password": "x"})
        assert r.status_code == 401


async def test_login_is_rate_limited_per_account_across_ips(app, factory, tighten):
    participant = await factory.participant()
    tighten(rate_login_per_account="2/60")
    for _ in range(2):
        async with client_from(app, random_ip()) as c:
            r = await c.post("/api/v1/auth/login", json={"login": participant.user["phone"], "password": "mat-khau-an-toan"})
            assert r.status_code == 200
    async with client_from(app, random_ip()) as c:
        assert_429(await c.post("/api/v1/auth/login",
                                json={"login": participant.user["phone"], "password": "mat-khau-an-toan"}))


async def test_repeated_failed_logins_lock_the_login_even_with_the_right_password(app, factory, tighten):
    participant = await factory.participant()
    tighten(login_lockout_failures=3, login_lockout_seconds=600)
    phone = participant.user["phone"]
    for _ in range(3):
        async with client_from(app, random_ip()) as c:  # spreading over IPs does not help
            assert (await c.post("/api/v1/auth/login", json={"login": phone, "password": "sai"})).status_code == 401
    async with client_from(app, random_ip()) as c:
        locked = await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"})
        assert 1 <= assert_429(locked, "login_locked") <= 30  # the first wait (it doubles, up to 600 s)
        assert "tạm thời bị khóa" in locked.json()["error"]["message"]
        # The same phone written differently is the same login.
        spaced = phone[:4] + " " + phone[4:7] + " " + phone[7:]
        assert_429(await c.post("/api/v1/auth/login", json={"login": spaced, "password": "mat-khau-an-toan"}),
                   "login_locked")
        # Another login is unaffected; and the lock-out is the same for an account that does not exist.
        other = await factory.participant()
        assert (await c.post("/api/v1/auth/login",
                             json={"login": other.user["citizen_id"], "password": "mat-khau-an-toan"})).status_code == 200
        for _ in range(3):
            await c.post("/api/v1/auth/login", json={"login": "0399999999", "password": "sai"})
        assert_429(await c.post("/api/v1/auth/login", json={"login": "0399999999", "password": "sai"}), "login_locked")


async def test_a_successful_login_resets_the_failure_count(app, factory, tighten):
    participant = await factory.participant()
    tighten(login_lockout_failures=3)
    phone = participant.user["phone"]
    async with client_from(app, random_ip()) as c:
        for _ in range(2):
            await c.post("/api/v1/auth/login", json={"login": phone, "password": "sai"})
        assert (await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"})).status_code == 200
        for _ in range(2):
            await c.post("/api/v1/auth/login", json={"login": phone, "password": "sai"})
        assert (await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"})).status_code == 200


async def test_the_lockout_counts_per_account_whichever_identifier_is_typed(app, factory, tighten):
    """Issue 13 item 9: failures typed with the phone delay a login typed with the CCCD too."""
    participant = await factory.participant()
    tighten(login_lockout_failures=3)
    right = {"login": participant.user["citizen_id"], "password": "mat-khau-an-toan"}
    for login in (participant.user["phone"], participant.user["citizen_id"], "+84" + participant.user["phone"][1:]):
        async with client_from(app, random_ip()) as c:
            assert (await c.post("/api/v1/auth/login", json={"login": login, "password": "sai"})).status_code == 401
    async with client_from(app, random_ip()) as c:
        assert_429(await c.post("/api/v1/auth/login", json=right), "login_locked")
        assert_429(await c.post("/api/v1/auth/login", json={**right, "login": participant.user["phone"]}), "login_locked")


async def test_the_lockout_survives_a_redis_flush(app, factory, tighten, redis):
    participant = await factory.participant()
    tighten(login_lockout_failures=2)
    phone = participant.user["phone"]
    async with client_from(app, random_ip()) as c:
        for _ in range(2):
            await c.post("/api/v1/auth/login", json={"login": phone, "password": "sai"})
        await redis.flushdb()
        assert_429(await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"}),
                   "login_locked")


async def test_the_wait_doubles_with_each_failure_up_to_the_cap(app, factory, tighten, db):
    from sqlalchemy import update

    from app.accounts.models import LoginFailure

    participant = await factory.participant()
    tighten(login_lockout_failures=2, login_lockout_seconds=100)
    phone = participant.user["phone"]
    waits = []
    key = f"user:{participant.user['id']}"
    async with client_from(app, random_ip()) as c:
        for _ in range(5):
            assert (await c.post("/api/v1/auth/login", json={"login": phone, "password": "sai"})).status_code == 401
            row = await db.get(LoginFailure, key, populate_existing=True)
            waits.append(round((row.wait_until - row.last_failure_at).total_seconds()) if row.wait_until else 0)
            await db.commit()  # SQLite: end the test's transaction before the app writes
            if row.wait_until:  # a try now is refused unheard, and says how long to wait
                r = await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"})
                assert abs(assert_429(r, "login_locked") - waits[-1]) <= 1
            # The wait is over (as if that much time had passed): the next try is heard again.
            await db.execute(update(LoginFailure).where(LoginFailure.key == key).values(wait_until=None))
            await db.commit()
    assert waits == [0, 30, 60, 100, 100]  # 1 failure: free; then 30 s, doubling, capped at 100 s
    async with client_from(app, random_ip()) as c:
        assert (await c.post("/api/v1/auth/login", json={"login": phone, "password": "mat-khau-an-toan"})).status_code == 200


async def test_someone_else_failing_cannot_shut_the_owner_out_of_their_own_device(app, factory, tighten):
    participant = await factory.participant()
    tighten(login_lockout_failures=2)
    right = {"login": participant.user["phone"], "password": "mat-khau-an-toan"}
    async with client_from(app, random_ip()) as owner:
        assert (await owner.post("/api/v1/auth/login", json=right)).status_code == 200  # the owner's phone
        async with client_from(app, random_ip()) as attacker:
            for _ in range(4):
                await attacker.post("/api/v1/auth/login", json={**right, "password": "sai"})
            assert_429(await attacker.post("/api/v1/auth/login", json=right), "login_locked")
        assert (await owner.post("/api/v1/auth/login", json=right)).status_code == 200
        # The owner's device has its own count: its own failures delay it, not others'.
        for _ in range(2):
            assert (await owner.post("/api/v1/auth/login", json={**right, "password": "sai"})).status_code == 401
        assert_429(await owner.post("/api/v1/auth/login", json=right), "login_locked")
        # A forged device cookie (another account's, or tampered) is not trusted.
        owner.cookies.set("ttn_login", f"{participant.user['id']}.abc.{'0' * 36}")
        assert_429(await owner.post("/api/v1/auth/login", json=right), "login_locked")


async def test_the_per_login_rate_limit_does_not_hold_the_owners_device_back(app, factory, tighten):
    participant = await factory.participant()
    tighten(rate_login_per_account="3/60")
    right = {"login": participant.user["citizen_id"], "password": "mat-khau-an-toan"}
    async with client_from(app, random_ip()) as owner:
        assert (await owner.post("/api/v1/auth/login", json=right)).status_code == 200
        async with client_from(app, random_ip()) as attacker:
            for _ in range(3):
                await attacker.post("/api/v1/auth/login", json={**right, "password": "x"})
            assert_429(await attacker.post("/api/v1/auth/login", json=right))
        assert (await owner.post("/api/v1/auth/login", json=right)).status_code == 200


async def test_login_form_shows_the_lockout_in_vietnamese_with_retry_after(app, factory, tighten):
    participant = await factory.participant()
    tighten(login_lockout_failures=1)
    async with client_from(app, random_ip()) as c:
        page = await c.get("/login")
        token = c.cookies["csrftoken"]
        form = {"login": participant.user["phone"], "password": "sai", "csrf_token": token}
        assert (await c.post("/login", data=form)).status_code == 401
        locked = await c.post("/login", data={**form, "password": "mat-khau-an-toan"})
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
        assert "tạm thời bị khóa" in locked.text and "Traceback" not in locked.text
        assert page.status_code == 200


async def test_registration_is_rate_limited_per_ip_and_per_citizen_id(app, tighten):
    tighten(rate_register_per_ip="2/60")
    async with client_from(app, random_ip()) as c:
        for _ in range(2):
            assert (await c.post("/api/v1/auth/register", json=profile())).status_code == 201
            c.cookies.clear()
        assert_429(await c.post("/api/v1/auth/register", json=profile()))
    tighten(rate_register_per_ip="1000/60", rate_register_per_account="2/3600")
    probe = profile()
    for _ in range(2):  # probing which CCCDs are registered, from many addresses
        async with client_from(app, random_ip()) as c:
            await c.post("/api/v1/auth/register", json={**probe, "phone": profile()["phone"]})
    async with client_from(app, random_ip()) as c:
        assert_429(await c.post("/api/v1/auth/register", json={**probe, "phone": profile()["phone"]}))


async def test_opening_attempts_is_rate_limited_per_account_and_per_ip(app, factory, tighten):
    round_ = await factory.round()
    participant = await factory.participant()
    tighten(rate_open_attempt_per_account="3/60")
    for _ in range(3):
        assert (await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).status_code in (200, 201)
    assert_429(await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts"))

    tighten(rate_open_attempt_per_account="1000/60", rate_open_attempt_per_ip="2/60")
    ip = random_ip()
    async with client_from(app, ip) as c:
        people = [await factory.participant(c) for _ in range(3)]
        for p in people[:2]:
            assert (await p.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).status_code == 201
        assert_429(await people[2].call("POST", f"/api/v1/rounds/{round_.id}/attempts"))


async def test_one_attempt_in_progress_across_devices(app, factory):
    round_ = await factory.round(attempts_allowed=3)
    participant = await factory.participant()
    # Two devices: separate clients, separate sessions, different addresses, clicking at once.
    sessions = []
    for _ in range(3):
        async with client_from(app, random_ip()) as c:
            r = await c.post("/api/v1/auth/login", json={"login": participant.user["phone"], "password": "mat-khau-an-toan"})
            sessions.append(r.json()["token"])
    async with client_from(app, random_ip()) as phone, client_from(app, random_ip()) as laptop:
        calls = [(phone if i % 2 else laptop).post(f"/api/v1/rounds/{round_.id}/attempts",
                                                   headers={"Authorization": f"Bearer {sessions[i % 3]}"})
                 for i in range(9)]
        responses = await asyncio.gather(*calls)
    assert sorted(r.status_code for r in responses) == [200] * 8 + [201]
    assert len({r.json()["attempt_id"] for r in responses}) == 1
    progress = (await participant.call("GET", f"/api/v1/rounds/{round_.id}/me")).json()
    assert progress["attempts_used"] == 1


async def _sleep_until(moment: datetime) -> None:
    await asyncio.sleep(max(0.0, (moment - datetime.now(timezone.utc)).total_seconds()))


async def test_nothing_is_accepted_after_deadline_plus_grace(app, factory, tighten):
    tighten(deadline_grace_seconds=1.0)  # read per request: the configured grace
    round_ = await factory.round(time_limit_seconds=1)
    participant = await factory.participant()
    attempt = (await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    deadline = datetime.fromisoformat(attempt["deadline"].replace("Z", "+00:00"))
    q0, q1 = attempt["questions"][:2]
    url = f"/api/v1/attempts/{attempt['attempt_id']}"
    assert (await participant.call("PUT", f"{url}/answers/{q0['id']}", json={"option_id": correct_option(q0)})).status_code == 200
    # Timed from the server's deadline, not from this test's own steps (a slow first save on a
    # busy machine must not push the "inside the grace" click past it).
    await _sleep_until(deadline + timedelta(seconds=0.3))  # past the deadline, inside the grace
    assert (await participant.call("PUT", f"{url}/answers/{q1['id']}", json={"option_id": correct_option(q1)})).status_code == 200
    await _sleep_until(deadline + timedelta(seconds=1.3))  # past the grace
    late = await participant.call("PUT", f"{url}/answers/{q1['id']}", json={"option_id": q1["options"][1]["id"]})
    assert late.status_code == 409 and late.json()["error"]["code"] == "attempt_closed"
    result = await participant.call("POST", f"{url}/submit", json={"prediction": 5})
    assert result.status_code == 200
    body = result.json()
    assert body["correct"] == 2 and body["auto_submitted"] and body["time_ms"] == 1000


async def test_no_key_or_correctness_hint_in_any_response_while_the_round_runs(factory):
    round_ = await factory.round(questions_per_attempt=5, attempts_allowed=2)
    participant = await factory.participant()
    attempt = (await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    attempt_id = attempt["attempt_id"]
    bodies = [json.dumps(attempt)]
    for q in attempt["questions"]:
        r = await participant.call("PUT", f"/api/v1/attempts/{attempt_id}/answers/{q['id']}",
                                   json={"option_id": q["options"][0]["id"]})
        bodies.append(r.text)
    bodies.append((await participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 1})).text)
    after = await participant.call("GET", f"/api/v1/attempts/{attempt_id}")
    bodies += [after.text, (await participant.call("GET", f"/api/v1/rounds/{round_.id}/me")).text]
    # After submitting, the participant learns the score, not which answers were right: the same
    # option tokens come back, with nothing per question that differs between right and wrong.
    resumed = after.json()
    assert {json.dumps(sorted(o)) for q in resumed["questions"] for o in [q.keys()]} == {
        json.dumps(sorted(["id", "number", "text", "options"]))}
    assert all(set(o) == {"id", "label", "text"} for q in resumed["questions"] for o in q["options"])
    text = "\n".join(bodies)
    for hint in ('"is_correct"', '"answer_index"', '"explanation"', '"key"', '"correct_option"', "Giải thích"):
        assert hint not in text


async def test_a_huge_declared_body_is_refused_before_it_is_sent(live_server):
    """A client announcing 500 MB gets 413 at once, after sending a few bytes: the server does
    not wait for (or buffer) the rest."""
    host, port = live_server.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 500000000\r\n\r\n{\"login\": ")
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), 5)
    writer.close()
    assert status_line.split()[1] == b"413"
