"""Registration, login and sessions as a participant experiences them."""
from __future__ import annotations

import pytest

from app.core.sessions import _key as _session_key
from tests.factories import profile, unique_citizen_id, unique_phone


async def test_register_logs_in_and_me_returns_normalized_profile(client):
    phone = unique_phone()
    data = profile(full_name="  trần   thị  bình ", gender="female", citizen_id=unique_citizen_id(1995, female=True),
                   date_of_birth="1995-02-03", phone=f"+84 {phone[1:4]} {phone[4:7]} {phone[7:]}")
    response = await client.post("/api/v1/auth/register", json=data)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["user"]["full_name"] == "trần thị bình"  # spaces cleaned, the casing as typed
    assert body["user"]["phone"] == phone
    assert "password" not in response.text and "argon2" not in response.text
    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200
    assert me.json()["citizen_id"] == data["citizen_id"]


async def test_session_cookie_is_opaque_httponly_and_lax(client):
    response = await client.post("/api/v1/auth/register", json=profile())
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("sid="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    value = cookie.split(";")[0].split("=", 1)[1]
    assert "Nguy" not in value and len(value) >= 40  # a random token, not a profile blob


async def test_every_invalid_field_is_reported_at_once_in_vietnamese(client):
    response = await client.post("/api/v1/auth/register", json=profile(
        phone="12345", citizen_id="12ab", province="Atlantis", commune="", password="short"))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_profile"
    fields = error["details"]["fields"]
    assert set(fields) == {"phone", "citizen_id", "province", "commune", "password"}
    assert "12 chữ số" in fields["citizen_id"]


async def test_citizen_id_must_match_birth_year(client):
    response = await client.post("/api/v1/auth/register", json=profile(
        date_of_birth="1990-01-01", citizen_id=unique_citizen_id(1985)))
    assert response.status_code == 422
    assert "năm sinh" in response.json()["error"]["details"]["fields"]["citizen_id"]


@pytest.mark.parametrize("field", ["phone", "citizen_id"])
async def test_a_taken_phone_or_citizen_id_is_named_to_the_citizen(client, field):
    """Issue 13 item 11: registration tells a citizen which of their numbers is already
    registered (the README says so, and what limits probing)."""
    first = profile()
    assert (await client.post("/api/v1/auth/register", json=first)).status_code == 201
    second = profile(**{field: first[field]})
    response = await client.post("/api/v1/auth/register", json=second)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "already_registered" and set(error["details"]["fields"]) == {field}
    assert ("Số CCCD này" if field == "citizen_id" else "Số điện thoại này") in error["message"]


async def test_login_by_phone_or_citizen_id(client):
    data = profile()
    await client.post("/api/v1/auth/register", json=data)
    for login in (data["phone"], data["citizen_id"], "+84" + data["phone"][1:]):
        response = await client.post("/api/v1/auth/login", json={"login": login, "password": data["password"]})
        assert response.status_code == 200, login


async def test_wrong_password_and_unknown_account_get_the_same_answer(client):
    data = profile()
    await client.post("/api/v1/auth/register", json=data)
    wrong = await client.post("/api/v1/auth/login", json={"login": data["phone"], "password": "sai-mat-khau"})
    unknown = await client.post("/api/v1/auth/login", json={"login": unique_phone(), "password": "sai-mat-khau"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


async def test_logout_ends_the_server_side_session(client):
    response = await client.post("/api/v1/auth/register", json=profile())
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 401
    assert me.json()["error"]["code"] == "not_logged_in"


async def test_sessions_live_in_redis_not_in_the_cookie(client, redis):
    response = await client.post("/api/v1/auth/register", json=profile())
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    keys = [k async for k in redis.scan_iter("sess:*")]
    assert keys
    await redis.delete(*keys)  # revoking server-side ends the session even though the client kept its token
    assert (await client.get("/api/v1/me", headers=headers)).status_code == 401


async def test_a_session_in_use_slides_and_survives_a_redis_script_flush(client, redis, app):
    response = await client.post("/api/v1/auth/register", json=profile())
    headers = {"Authorization": f"Bearer {response.json()['token']}"}
    key = _session_key(response.json()["token"])
    await redis.expire(key, 30)  # as if the session were about to run out
    await redis.script_flush()  # a restarted Redis knows none of the app's scripts
    me = await client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["phone"] == response.json()["user"]["phone"]
    # Using the session gave it its whole lifetime again: nobody is logged out mid-attempt.
    assert await redis.ttl(key) > app.state.runtime.settings.session_ttl_seconds - 30


async def test_cookie_authenticated_writes_need_the_csrf_header(client, factory):
    round_ = await factory.round()
    response = await client.post("/api/v1/auth/register", json=profile())
    sid = response.cookies.get("sid")
    csrf = response.cookies.get("csrftoken")
    client.cookies.clear()
    client.cookies.update({"sid": sid, "csrftoken": csrf})
    without = await client.post(f"/api/v1/rounds/{round_.id}/attempts")
    assert without.status_code == 403
    assert without.json()["error"]["code"] == "csrf_failed"
    with_header = await client.post(f"/api/v1/rounds/{round_.id}/attempts", headers={"X-CSRF-Token": csrf})
    assert with_header.status_code == 201
    client.cookies.clear()
