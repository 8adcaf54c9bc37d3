"""Minor input handling (issue 13 item 13): a zero-width space separates words, names keep the
casing people typed, and the JSON API takes values of the declared type only (page forms, which
send strings, keep working: tests/web and tests/accounts post them)."""
from __future__ import annotations

from app.staff.accounts import create_admin
from app.questions.importing import parse_bank_file
from app.core.textnorm import clean_text
from tests.admin.helpers import make_staff
from tests.factories import profile
from tests.questions.helpers import row, xlsx


def test_a_zero_width_space_is_a_space_not_a_join():
    assert clean_text("Nguyễn\u200bVăn\u200b An") == "Nguyễn Văn An"
    [q] = parse_bank_file(xlsx([row(1, "Đại\u200bhội XIII họp năm nào?", ("2021\u200bđúng", "2016"))]), "x.xlsx").questions
    assert q.text == "Đại hội XIII họp năm nào?" and q.options[0] == "2021 đúng"


async def test_names_keep_the_casing_people_typed(client, db):
    response = await client.post("/api/v1/auth/register", json=profile(full_name="  Lê\u200bthị  Hồng "))
    assert response.status_code == 201, response.text
    assert response.json()["user"]["full_name"] == "Lê thị Hồng"
    admin, created = await create_admin(db, "0987650077", "Quản trị", "mat-khau-quan-tri")
    assert created and admin.full_name == "Quản trị"


async def test_the_json_api_refuses_values_of_the_wrong_type(app, client, factory):
    round_ = await factory.round(questions_per_attempt=2, prediction_enabled=True)
    participant = await factory.participant()
    opened = await participant.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    attempt_id = opened.json()["attempt_id"]
    for wrong in (True, "12", 12.5, [12]):
        saved = await participant.call("PUT", f"/api/v1/attempts/{attempt_id}/prediction", json={"prediction": wrong})
        assert saved.status_code == 422, (wrong, saved.text)
        submitted = await participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": wrong})
        assert submitted.status_code == 422, (wrong, submitted.text)
    assert (await participant.call("POST", f"/api/v1/attempts/{attempt_id}/submit", json={"prediction": 12})).status_code == 200
    assert (await client.post("/api/v1/auth/register", json=profile(party_member="true"))).status_code == 422
    assert (await client.post("/api/v1/auth/login", json={"login": 912345678, "password": "x" * 10})).status_code == 422
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    body = {"name": "Tuần 2", "open_at": "2026-12-01 08:00", "close_at": "2026-12-07 20:00", "questions_per_attempt": "10"}
    made = await organizer.call("POST", f"/api/v1/admin/contests/{round_.contest_id}/rounds", json=body)
    assert made.status_code == 422, made.text
    made = await organizer.call("POST", f"/api/v1/admin/contests/{round_.contest_id}/rounds",
                                json={**body, "questions_per_attempt": 10})
    assert made.status_code == 201, made.text
