"""A judge excludes an account from a round's results: audited, a new frozen version (re-ranked,
T recomputed, new SHA-256), the old versions untouched, the final board and the prize export
follow; lifting it is the same, in reverse."""
from __future__ import annotations

from sqlalchemy import select

from app.judging.models import RankingSnapshot
from app.judging.snapshots import verify
from tests.admin.helpers import end_round_now, make_staff, take_attempt
from tests.admin.test_closing_and_exports import export, sheet_text


async def test_exclusion_re_ranks_into_a_new_version_and_shows_in_the_prize_export(factory, app, client, db):
    round_ = await factory.round(questions_per_attempt=10, prediction_enabled=True)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"}, name="Trưởng Ban Giám Khảo")
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    cheat = await factory.participant(full_name="Hoàng Văn Gian")
    honest = await factory.participant(full_name="Trần Thị Thật")
    third = await factory.participant(full_name="Lê Văn Ba")
    await take_attempt(cheat, round_.id, 10, prediction=3)    # all correct, |3 - 2| = 1: first with T = 2
    await take_attempt(honest, round_.id, 10, prediction=4)   # all correct, |4 - 2| = 2: second
    await take_attempt(third, round_.id, 7, prediction=1)
    await end_round_now(app, round_.id)
    v1 = (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).json()
    assert v1["truth"] == 2 and v1["participants"] == 3

    url = f"/api/v1/admin/rounds/{round_.id}/exclusions"
    body = {"user_id": cheat.user["id"], "reason": "30 tài khoản trên cùng một trình duyệt, dự đoán rải 1200–1229"}
    assert (await judge.call("POST", url, json={**body, "reason": "  "})).status_code == 422
    assert (await organizer.call("POST", url, json=body)).status_code == 403
    outsider = await factory.participant()
    assert (await judge.call("POST", url, json={**body, "user_id": outsider.user["id"]})).status_code == 404
    done = await judge.call("POST", url, json=body)
    assert done.status_code == 201, done.text
    v2 = done.json()["snapshot"]
    assert v2["version"] == 2 and v2["participants"] == 2 and v2["digest"] != v1["digest"]
    assert v2["truth"] == 1  # T recomputed without the excluded account
    assert (await judge.call("POST", url, json=body)).status_code == 409  # already excluded

    snaps = (await judge.call("GET", f"/api/v1/admin/rounds/{round_.id}/snapshots")).json()
    assert [(s["version"], s["reason"], s["intact"]) for s in snaps] == [(2, "exclude", True), (1, "close", True)]
    assert snaps[1]["digest"] == v1["digest"]  # the earlier version is untouched
    assert "Hoàng Văn Gian" in snaps[0]["note"] and "cùng một trình duyệt" in snaps[0]["note"]
    # The published final board follows: the honest participant is first, the excluded one gone.
    board = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
    names = [row["name"] for row in board["rows"]]
    assert len(names) == 2 and names[0].startswith("Trần")
    # Ranking and prize exports come from version 2 and list the exclusion with its reason.
    ranking = sheet_text((await export(judge, round_.id, "ranking", app)).active)
    assert v2["digest"] in ranking and "Hoàng Văn Gian" not in ranking
    prizes = await export(judge, round_.id, "prizes", app)
    assert "Hoàng Văn Gian" not in sheet_text(prizes["Tất cả giải"])
    excluded = sheet_text(prizes["Bị loại khỏi kết quả"])
    assert "Hoàng Văn Gian" in excluded and "dự đoán rải 1200–1229" in excluded and "Trưởng Ban Giám Khảo" in excluded
    log = (await judge.call("GET", f"/api/v1/admin/contests/{round_.contest_id}/audit")).json()
    entry = next(e for e in log if e["action"] == "result.exclude")
    assert entry["after"]["snapshot_version"] == 2 and entry["after"]["digest"] == v2["digest"]
    assert entry["actor"] == "Trưởng Ban Giám Khảo" and entry["target"] == f"user:{cheat.user['id']}"
    # The participant's own view shows no evidence (no device, no address).
    me = (await cheat.call("GET", "/api/v1/me")).text
    assert "device" not in me and "10." not in me

    # Lifting the exclusion (with a reason) freezes version 3 with everyone back.
    exclusion_id = done.json()["id"]
    lifted = await judge.call("POST", f"/api/v1/admin/exclusions/{exclusion_id}/reinstate",
                              json={"reason": "Đã xác minh: tài khoản của người thật", "truth": 2})
    assert lifted.status_code == 200, lifted.text
    v3 = lifted.json()["snapshot"]
    assert v3["version"] == 3 and v3["participants"] == 3 and v3["truth"] == 2
    latest = await db.scalar(select(RankingSnapshot).where(RankingSnapshot.round_id == round_.id)
                             .order_by(RankingSnapshot.version.desc()))
    assert latest.version == 3 and await verify(db, latest)
    await db.rollback()
    listed = (await judge.call("GET", url)).json()
    assert listed[0]["lifted_at"] and listed[0]["lift_reason"].startswith("Đã xác minh")


async def test_an_exclusion_before_closing_applies_when_the_round_is_closed(factory, app, client):
    round_ = await factory.round(questions_per_attempt=10, prediction_enabled=True)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    a, b = await factory.participant(), await factory.participant()
    await take_attempt(a, round_.id, 10, prediction=1)
    await take_attempt(b, round_.id, 9, prediction=1)
    done = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/exclusions",
                            json={"user_id": a.user["id"], "reason": "Thành viên Tổ thư ký dự thi"})
    assert done.status_code == 201 and done.json()["snapshot"] is None
    live = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
    assert live["participants"] == 1 and live["rows"][0]["correct"] == 9  # rebuilt without them
    await end_round_now(app, round_.id)
    closed = (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).json()
    assert closed["participants"] == 1 and closed["truth"] == 0
