"""Roles are checked on the server for every console page and API call; staff actions are logged
with before/after; the first admin comes from `python -m app create-admin`."""
from __future__ import annotations

from urllib.parse import unquote

import os

from sqlalchemy import select

from app.accounts.models import User
from tests.admin.helpers import make_staff
from tests.live import run_app_command


async def test_consoles_refuse_anonymous_visitors_and_participants(factory, client):
    round_ = await factory.round()
    participant = await factory.participant()
    pages = ["/admin", f"/admin/contests/{round_.contest_id}", f"/admin/rounds/{round_.id}",
             *(f"/admin/contests/{round_.contest_id}/{tab}" for tab in ("rounds", "units", "staff", "audit", "results")),
             f"/admin/contests/{round_.contest_id}/audit.xlsx", "/admin/password-resets",
             f"/admin/rounds/{round_.id}/dashboard", f"/admin/rounds/{round_.id}/dashboard/live"]
    for path in pages:
        anonymous = await client.get(path)
        assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login?next=")
        refused = await participant.call("GET", path)
        assert refused.status_code == 403, path
        assert "quyền" in refused.text
    api = [("GET", f"/api/v1/admin/rounds/{round_.id}/dashboard"), ("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit"),
           ("POST", f"/api/v1/admin/rounds/{round_.id}/close"), ("POST", f"/api/v1/admin/rounds/{round_.id}/exports/ranking"),
           ("POST", "/api/v1/admin/contests")]
    for method, path in api:
        assert (await client.request(method, path, json={})).status_code == 401, path
        response = await participant.call(method, path, json={"title": "Cuộc thi của tôi", "truth": 1})
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "forbidden"


async def test_roles_are_per_contest_and_per_duty(factory, client, app):
    mine = await factory.round()
    other = await factory.round()
    organizer = await make_staff(app, client, roles={mine.contest_id: "organizer"})
    judge = await make_staff(app, client, roles={mine.contest_id: "judge"})
    body = {"title": "Tên mới của cuộc thi", "rules_text": "Thể lệ mới"}
    assert (await organizer.call("PUT", f"/api/v1/admin/contests/{mine.contest_id}", json=body)).status_code == 200
    assert (await organizer.call("PUT", f"/api/v1/admin/contests/{other.contest_id}", json=body)).status_code == 403
    assert (await organizer.call("GET", f"/admin/contests/{other.contest_id}")).status_code == 403
    # A judge does not edit; an organizer does not close rounds or export the ranking; neither creates contests.
    assert (await judge.call("PUT", f"/api/v1/admin/contests/{mine.contest_id}", json=body)).status_code == 403
    closing = await organizer.call("POST", f"/api/v1/admin/rounds/{mine.id}/close", json={"truth": 0})
    assert closing.status_code == 403 and "Ban giám khảo" in closing.json()["error"]["message"]
    assert (await organizer.call("POST", f"/api/v1/admin/rounds/{mine.id}/exports/ranking")).status_code == 403
    assert (await judge.call("POST", "/api/v1/admin/contests", json=body)).status_code == 403
    assert (await judge.call("GET", f"/api/v1/admin/rounds/{mine.id}/dashboard")).status_code == 200


async def test_a_revoked_role_stops_working_at_once(factory, client, app, db):
    round_ = await factory.round()
    admin = await make_staff(app, client, admin=True)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    assert (await organizer.call("GET", f"/admin/contests/{round_.contest_id}")).status_code == 200
    from app.staff.models import StaffAssignment

    assignment_id = await db.scalar(select(StaffAssignment.id).where(StaffAssignment.user_id == organizer.user_id))
    await db.rollback()  # SQLite: every transaction holds the write lock
    console = f"/admin/contests/{round_.contest_id}"
    assert f"/staff/{assignment_id}/remove" in (await admin.call("GET", f"{console}/staff")).text  # the admin's button
    # Only an admin may revoke, and only with the form's CSRF token.
    form = {"data": {"csrf_token": "t"}, "cookies": {"csrftoken": "t"}}
    assert (await organizer.call("POST", f"{console}/staff/{assignment_id}/remove", **form)).status_code == 403
    refused = await admin.call("POST", f"{console}/staff/{assignment_id}/remove", data={"csrf_token": "x"},
                               cookies={"csrftoken": "t"})
    assert refused.status_code == 403
    assert (await organizer.call("GET", console)).status_code == 200
    revoked = await admin.call("POST", f"{console}/staff/{assignment_id}/remove", **form)
    assert revoked.status_code == 303 and revoked.headers["location"] == f"{console}/staff"
    assert "Đã thu hồi quyền" in unquote(revoked.cookies["flash"])
    assert (await organizer.call("GET", console)).status_code == 403
    log = (await admin.call("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit")).json()
    assert any(e["action"] == "staff.unassign" and e["before"] == {"role": "organizer"} for e in log)


async def test_staff_actions_are_logged_with_before_and_after(factory, client, app, db):
    round_ = await factory.round()
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"}, name="Lê Văn Tổ Chức")
    response = await organizer.call("PUT", f"/api/v1/admin/contests/{round_.contest_id}",
                                    json={"title": "Tìm hiểu Nghị quyết — bản sửa", "rules_text": "Thể lệ đã sửa"})
    assert response.status_code == 200
    log = (await organizer.call("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit")).json()
    entry = next(e for e in log if e["action"] == "contest.update")
    assert entry["actor"] == "Lê Văn Tổ Chức" and entry["actor_id"] == organizer.user_id
    assert entry["before"]["title"].startswith("Cuộc thi thử") and entry["after"]["title"] == "Tìm hiểu Nghị quyết — bản sửa"
    assert entry["before"]["rules_text"] == "Thể lệ thử." and entry["after"]["rules_text"] == "Thể lệ đã sửa"
    # A refused action changes nothing and logs nothing.
    count = len(log)
    bad = await organizer.call("PUT", f"/api/v1/admin/contests/{round_.contest_id}", json={"title": "x"})
    assert bad.status_code == 422
    assert len((await organizer.call("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit")).json()) == count
    page = await organizer.call("GET", f"/admin/contests/{round_.contest_id}/audit")
    assert "Sửa cuộc thi" in page.text and "bản sửa" in page.text


async def test_create_admin_command_makes_an_account_that_reaches_the_console(settings, app):
    phone = "0912345678"
    env = {**os.environ, "ADMIN_PASSWORD": "mat-khau-quan-tri"}
    done = await run_app_command("create-admin", "--phone", phone, "--name", "Quản Trị Viên", env=env)
    assert done.returncode == 0, done.stderr
    assert "Đã tạo" in done.stdout
    again = await run_app_command("create-admin", "--phone", phone, env=env)
    assert again.returncode == 0 and "Đã cấp quyền" in again.stdout
    bad = await run_app_command("create-admin", "--phone", "123", env=env)
    assert bad.returncode == 2 and "điện thoại" in bad.stderr.lower()


async def test_created_admin_can_log_in_and_create_a_contest(client, app, db):
    import asyncio

    from app.staff.accounts import create_admin

    user, created = await create_admin(db, "0987650001", "Quản Trị", "mat-khau-quan-tri")
    assert created and user.role == "admin"
    login = await client.post("/api/v1/auth/login", json={"login": "0987650001", "password": "mat-khau-quan-tri"})
    token = login.json()["token"]
    client.cookies.clear()
    made = await client.post("/api/v1/admin/contests", headers={"Authorization": f"Bearer {token}"},
                             json={"title": "Cuộc thi do quản trị tạo", "rules_text": "Thể lệ"})
    assert made.status_code == 201, made.text
    assert (await db.scalar(select(User.role).where(User.id == user.id))) == "admin"
    await asyncio.sleep(0)
