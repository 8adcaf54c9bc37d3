"""Contest rules: the contest's organizers, judges and secretariat (and admins) cannot sit its
rounds, and a role is not given to someone who sat one — unless an admin overrides, which takes
that person out of the results (audited, new ranking version for a closed round)."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from app.staff.models import StaffAssignment
from app.integrity.models import ResultExclusion
from tests.admin.helpers import end_round_now, make_staff, take_attempt


async def test_staff_of_a_contest_cannot_open_an_attempt_in_it(factory, app, client):
    round_ = await factory.round()
    other = await factory.round()
    for role in ("organizer", "judge", "secretariat"):
        person = await make_staff(app, client, roles={round_.contest_id: role})
        refused = await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
        assert refused.status_code == 403, refused.text
        error = refused.json()["error"]
        assert error["code"] == "staff_cannot_participate" and error["details"]["roles"] == [role]
        assert "không được dự thi" in error["message"]
        # Another contest's round is open to them.
        assert (await person.call("POST", f"/api/v1/rounds/{other.id}/attempts")).status_code == 201
    admin = await make_staff(app, client, admin=True)
    assert (await admin.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()["error"]["details"]["roles"] == ["admin"]
    # The page says it in Vietnamese (the start button's form).
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    form = {"data": {"csrf_token": "t"}, "cookies": {"csrftoken": "t"}}
    page = await judge.call("POST", f"/rounds/{round_.id}/start", **form)
    assert page.status_code == 403 and "text/html" in page.headers["content-type"]
    assert "Ban giám khảo của cuộc thi này" in page.text and "không được dự thi" in page.text
    # An ordinary participant is not affected.
    participant = await factory.participant()
    assert (await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).status_code == 201


async def test_a_role_is_refused_to_someone_who_sat_a_round_unless_an_audited_override_excludes_them(
        factory, app, client, db):
    round_ = await factory.round(questions_per_attempt=10)
    admin = await make_staff(app, client, admin=True)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    sitter = await factory.participant(full_name="Lê Thị Dự Thi")
    rival = await factory.participant()
    await take_attempt(sitter, round_.id, 10, prediction=2)
    await take_attempt(rival, round_.id, 5, prediction=2)
    await end_round_now(app, round_.id)
    closed = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})
    assert closed.status_code == 201 and closed.json()["participants"] == 2

    url = f"/api/v1/admin/contests/{round_.contest_id}/staff"
    refused = await admin.call("POST", url, json={"phone": sitter.user["phone"], "role": "judge"})
    assert refused.status_code == 409, refused.text
    error = refused.json()["error"]
    assert error["code"] == "staff_has_attempts" and error["details"]["rounds"][0]["round_id"] == round_.id
    assert "không thể phân quyền" in error["message"]
    # Nothing was written: no role, no exclusion.
    assert await db.scalar(select(StaffAssignment.id).where(StaffAssignment.user_id == sitter.user["id"])) is None
    await db.rollback()  # SQLite: every transaction holds the write lock
    # The console form says the same in Vietnamese.
    form = {"data": {"csrf_token": "t", "phone": sitter.user["phone"], "role": "secretariat"},
            "cookies": {"csrftoken": "t"}}
    page = await admin.call("POST", f"/admin/contests/{round_.contest_id}/staff", **form)
    assert page.status_code == 409 and "không thể phân quyền" in page.text

    # The override needs a reason, then excludes and assigns.
    override = f"/api/v1/admin/contests/{round_.contest_id}/staff/override"
    assert (await admin.call("POST", override, json={"phone": sitter.user["phone"], "role": "judge",
                                                     "reason": " "})).status_code == 422
    assert (await judge.call("POST", override, json={"phone": sitter.user["phone"], "role": "judge",
                                                     "reason": "x"})).status_code == 403
    done = await admin.call("POST", override, json={"phone": sitter.user["phone"], "role": "judge",
                                                    "reason": "Bổ sung vào Ban giám khảo theo quyết định số 12"})
    assert done.status_code == 201, done.text
    await db.rollback()
    exclusion = await db.scalar(select(ResultExclusion).where(ResultExclusion.user_id == sitter.user["id"]))
    assert exclusion.round_id == round_.id and "quyết định số 12" in exclusion.reason
    await db.rollback()
    snaps = (await judge.call("GET", f"/api/v1/admin/rounds/{round_.id}/snapshots")).json()
    assert [s["version"] for s in snaps] == [2, 1] and snaps[0]["participants"] == 1 and snaps[0]["intact"]
    assert snaps[0]["digest"] != snaps[1]["digest"]
    log = (await admin.call("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit")).json()
    actions = [e["action"] for e in log]
    assert {"staff.assign_override", "result.exclude", "staff.assign"} <= set(actions)
    # Now staff, the person cannot sit the contest's rounds any more.
    later = await factory.round(contest=SimpleNamespace(id=round_.contest_id))
    assert (await sitter.call("POST", f"/api/v1/rounds/{later.id}/attempts")).status_code == 403



async def test_staff_are_refused_also_once_the_contests_pool_is_in_memory(factory, app, client):
    # A participant's open leaves the bank's pool in the worker's memory (the quick way to open);
    # staff and admins are still refused there, with their roles.
    round_ = await factory.round()
    assert (await (await factory.participant()).call("POST", f"/api/v1/rounds/{round_.id}/attempts")).status_code == 201
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    refused = await judge.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert refused.status_code == 403 and refused.json()["error"]["details"]["roles"] == ["judge"]
    admin = await make_staff(app, client, admin=True)
    refused = await admin.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    assert refused.status_code == 403 and refused.json()["error"]["details"]["roles"] == ["admin"]
