"""Account recovery without e-mail: the citizen asks, an organizer checks identity and issues a
one-time code, the citizen sets a new password with it and every old session ends."""
from __future__ import annotations

import logging
import re

import httpx
import pytest
from sqlalchemy import select

from app.accounts.models import PasswordReset
from app.staff.models import AuditEntry
from tests.admin.helpers import PASSWORD, make_staff
from tests.factories import profile
from tests.web.test_pages_without_javascript import csrf_of

NEW_PASSWORD = "bong-sen-trong-dam-7"


@pytest.fixture
async def browser(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def page_client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


async def log_in(client, login: str, password: str) -> httpx.Response:
    form = await client.get("/login")
    return await client.post("/login", data={"login": login, "password": password, "next": "/",
                                             "csrf_token": csrf_of(form.text)})


async def ask(client, login: str, note: str = "Gọi lại số 0987 654 321") -> httpx.Response:
    form = await client.get("/forgot")
    return await client.post("/forgot", data={"login": login, "contact_note": note, "csrf_token": csrf_of(form.text)})


async def redeem(client, login: str, code: str, password: str = NEW_PASSWORD) -> httpx.Response:
    form = await client.get("/reset")
    return await client.post("/reset", data={"login": login, "code": code, "password": password,
                                             "password2": password, "csrf_token": csrf_of(form.text)})


async def issue(staff_client, reset_id: int, user: dict, **wrong) -> httpx.Response:
    form = await staff_client.get("/admin/password-resets")
    data = {"citizen_id": user["citizen_id"], "date_of_birth": user["date_of_birth"], "phone": user["phone"], **wrong}
    return await staff_client.post(f"/admin/password-resets/{reset_id}/issue",
                                   data={**data, "csrf_token": csrf_of(form.text)})


async def test_citizen_recovers_the_account_through_an_organizer(app, factory, client, browser):
    citizen = await factory.participant()
    user = citizen.user | {"citizen_id": citizen.user.get("citizen_id")}
    data = profile()  # the factory's defaults: birth date 1990-05-19
    user.setdefault("date_of_birth", data["date_of_birth"])
    async with await page_client(app) as old_phone:  # a session on another device, to be ended
        assert (await log_in(old_phone, user["phone"], "mat-khau-an-toan")).status_code == 303

        asked = await ask(browser, user["phone"])
        assert asked.status_code == 200 and 'id="forgot-sent"' in asked.text
        unknown = await ask(browser, "0399999999")
        assert 'id="forgot-sent"' in unknown.text  # the same answer: who is registered is not revealed

        contest = await factory.contest()
        organizer = await make_staff(app, client, roles={contest.id: "organizer"})
        async with await page_client(app) as console:
            assert (await log_in(console, organizer.phone, PASSWORD)).status_code == 303
            listing = await console.get("/admin/password-resets")
            assert listing.status_code == 200 and user["full_name"] in listing.text and "0987 654 321" in listing.text
            reset_id = int(re.search(r'id="reset-(\d+)"', listing.text).group(1))

            refused = await issue(console, reset_id, user, date_of_birth="1991-05-19")
            assert refused.status_code == 422 and 'id="err-date_of_birth"' in refused.text
            assert 'id="issued-code"' not in refused.text
            issued = await issue(console, reset_id, user)
            assert issued.status_code == 200
            code = re.search(r'<p class="code-big">(\d{4} \d{4})</p>', issued.text).group(1)

        async with app.state.runtime.sessionmaker() as db:
            row = await db.get(PasswordReset, reset_id)
            assert row.code_hash and code.replace(" ", "") not in row.code_hash  # hashed at rest

        wrong = await redeem(browser, user["phone"], "0000 0000" if code != "0000 0000" else "1111 1111")
        assert wrong.status_code == 422 and 'id="err-code"' in wrong.text
        weak = await redeem(browser, user["phone"], code, password=user["phone"])
        assert weak.status_code == 422 and 'id="err-password"' in weak.text
        done = await redeem(browser, user["phone"], code)
        assert done.status_code == 303 and done.headers["location"] == "/login"
        landed = await browser.get("/login")
        assert "Đã đặt mật khẩu mới" in landed.text

        # Every old session ended; the old password no longer works, the new one does; one use only.
        assert (await old_phone.get("/api/v1/me")).status_code == 401
        assert (await log_in(browser, user["phone"], "mat-khau-an-toan")).status_code != 303
        assert (await log_in(browser, user["phone"], NEW_PASSWORD)).status_code == 303
        again = await redeem(browser, user["phone"], code, password="hoa-cuc-vang-9")
        assert again.status_code == 422

    async with app.state.runtime.sessionmaker() as db:
        actions = set((await db.scalars(select(AuditEntry.action).where(
            AuditEntry.target == f"user:{citizen.user['id']}"))).all())
    assert {"password_reset.issue", "password_reset.verify_failed", "password_reset.use"} <= actions


async def test_a_code_is_void_after_too_many_wrong_tries(app, factory, client, browser):
    citizen = await factory.participant()
    await ask(browser, citizen.user["phone"])
    admin = await make_staff(app, client, admin=True)
    async with await page_client(app) as console:
        await log_in(console, admin.phone, PASSWORD)
        listing = await console.get("/admin/password-resets")
        reset_id = int(re.search(r'id="reset-(\d+)"', listing.text).group(1))
        user = {**citizen.user, "date_of_birth": "1990-05-19"}
        issued = await issue(console, reset_id, user)
        code = re.search(r'<p class="code-big">(\d{4} \d{4})</p>', issued.text).group(1)
    for _ in range(app.state.runtime.settings.reset_code_max_tries):
        await redeem(browser, citizen.user["phone"], "9" * 8 if code != "9999 9999" else "1" * 8)
    async with app.state.runtime.sessionmaker() as db:
        row = await db.get(PasswordReset, reset_id)
        assert row.status == "cancelled" and row.code_hash is None  # void: the right code no longer works
    refused = await redeem(browser, citizen.user["phone"], code)
    assert refused.status_code in (422, 429)  # and the tries per hour are spent as well


async def test_participants_cannot_open_the_reset_console(factory, browser):
    citizen = await factory.participant()
    await log_in(browser, citizen.user["phone"], "mat-khau-an-toan")
    assert (await browser.get("/admin/password-resets")).status_code == 403


async def test_with_an_sms_gateway_the_code_goes_to_the_registered_phone(app, factory, browser, monkeypatch, caplog):
    monkeypatch.setattr(app.state.runtime.settings, "sms_backend", "log")
    citizen = await factory.participant()
    with caplog.at_level(logging.INFO, logger="app.sms"):
        asked = await ask(browser, citizen.user["citizen_id"])
    assert "SMS" in asked.text
    sms = [r.getMessage() for r in caplog.records if r.name == "app.sms"]
    assert len(sms) == 1 and citizen.user["phone"][-3:] in sms[0]  # the log masks phone numbers
    code = re.search(r"(\d{4} \d{4})", sms[0]).group(1)
    assert (await redeem(browser, citizen.user["citizen_id"], code)).status_code == 303
