"""Contest and round administration (local times, validation with numbers, units import) and the
live dashboard drawn from server data."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

from openpyxl import Workbook

from tests.admin.helpers import make_staff, take_attempt


def xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


ROUND = {"name": "Tuần 1", "open_at": "2026-12-01T08:00", "close_at": "07/12/2026 20:00", "questions_per_attempt": 10,
         "time_limit_minutes": 15, "attempts_allowed": 2, "prediction_enabled": True}


async def test_round_times_are_read_as_vietnamese_time(factory, app, client):
    contest = await factory.contest(questions=40)
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    made = await organizer.call("POST", f"/api/v1/admin/contests/{contest.id}/rounds", json=ROUND)
    assert made.status_code == 201, made.text
    body = made.json()
    assert datetime.fromisoformat(body["open_at"]).astimezone(timezone.utc) == datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc)
    assert datetime.fromisoformat(body["close_at"]).astimezone(timezone.utc) == datetime(2026, 12, 7, 13, 0, tzinfo=timezone.utc)
    page = await organizer.call("GET", f"/admin/rounds/{body['id']}")
    assert "08:00 01/12/2026" in page.text and 'value="2026-12-01T08:00"' in page.text


async def test_a_quota_the_bank_cannot_fill_is_refused_with_the_numbers(factory, app, client):
    contest = await factory.contest(questions=40)  # topics 1..3: 14, 13, 13 questions
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    bad = dict(ROUND, quotas=[{"topic": "Chủ đề 2", "count": 20}], questions_per_attempt=30)
    response = await organizer.call("POST", f"/api/v1/admin/contests/{contest.id}/rounds", json=bad)
    assert response.status_code == 422
    message = response.json()["error"]["details"]["fields"]["quotas"]
    assert "cần 20 câu chủ đề “Chủ đề 2”" in message and "chỉ có 13 câu" in message
    too_many = await organizer.call("POST", f"/api/v1/admin/contests/{contest.id}/rounds",
                                    json=dict(ROUND, questions_per_attempt=50))
    assert "cần 50 câu nhưng ngân hàng chỉ có 40" in too_many.json()["error"]["message"]
    backwards = await organizer.call("POST", f"/api/v1/admin/contests/{contest.id}/rounds",
                                     json=dict(ROUND, close_at="2026-11-30T08:00"))
    assert "sau thời điểm mở" in backwards.json()["error"]["details"]["fields"]["close_at"]
    limits = await organizer.call("POST", f"/api/v1/admin/contests/{contest.id}/rounds",
                                  json=dict(ROUND, time_limit_minutes=90, attempts_allowed=9))
    fields = limits.json()["error"]["details"]["fields"]
    assert "5 đến 60" in fields["time_limit_minutes"] and "1 đến 5" in fields["attempts_allowed"]
    # The page form shows the same message, next to the field.
    page = await organizer.call("POST", f"/admin/contests/{contest.id}/rounds", data={
        "csrf_token": "t", "name": "Tuần 2", "open_at": "2026-12-01T08:00", "close_at": "2026-12-02T08:00",
        "questions_per_attempt": "20", "time_limit_minutes": "15", "attempts_allowed": "2",
        "quotas": "Chủ đề 1 | Khó | 9"}, cookies={"csrftoken": "t"})
    assert page.status_code == 422 and "mức độ Khó" in page.text and "chỉ có" in page.text


async def test_paper_settings_are_locked_once_someone_has_sat_the_round(factory, app, client):
    round_ = await factory.round(questions_per_attempt=10)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    await take_attempt(await factory.participant(), round_.id, 5)
    body = dict(ROUND, open_at="2026-01-01T08:00", close_at="2027-01-01T08:00", questions_per_attempt=12)
    response = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}", json=body)
    assert response.status_code == 409 and "1 lượt thi" in response.json()["error"]["message"]
    extended = await organizer.call("PUT", f"/api/v1/admin/rounds/{round_.id}",
                                    json=dict(body, questions_per_attempt=10, time_limit_minutes=10))
    assert extended.status_code == 200, extended.text


async def test_units_list_is_imported_from_excel_all_or_nothing(factory, app, client):
    contest = await factory.contest()
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    url = f"/admin/contests/{contest.id}/units"
    bad = xlsx([["Tên đơn vị", "Tỉnh"], ["Sở Tư pháp", "Hà Nội"], ["SỞ TƯ PHÁP ", "Hà Nội"], [None, "Huế"]])
    response = await organizer.call("POST", url, data={"csrf_token": "t"}, cookies={"csrftoken": "t"},
                                    files={"file": ("don-vi.xlsx", bad)})
    assert response.status_code == 422
    assert "Dòng 3: đơn vị “SỞ TƯ PHÁP” trùng với dòng 2" in response.text and "Dòng 4: thiếu tên đơn vị" in response.text
    assert "Danh sách đơn vị (0)" in response.text
    good = xlsx([["STT", "Tên đơn vị", "Tỉnh/Thành phố"], [1, "Sở Tư pháp", "Hà Nội"], [2, "Đoàn Thanh niên", None]])
    response = await organizer.call("POST", url, data={"csrf_token": "t"}, cookies={"csrftoken": "t"},
                                    files={"file": ("don-vi.xlsx", good)})
    assert response.status_code == 303 and response.headers["location"] == f"/admin/contests/{contest.id}/units"
    page = await organizer.call("GET", response.headers["location"], cookies=dict(response.cookies))
    assert "Danh sách đơn vị (2)" in page.text and "Nhập danh sách đơn vị" in page.text
    assert "Đã nhập danh sách 2 đơn vị." in page.text  # the confirmation after the action


async def test_live_dashboard_shows_server_figures_as_inline_svg(factory, app, client):
    round_ = await factory.round(questions_per_attempt=10)
    organizer = await make_staff(app, client, roles={round_.contest_id: "organizer"})
    for right, province in ((10, "Hà Nội"), (7, "Hà Nội"), (7, "Huế")):
        await take_attempt(await factory.participant(province=province), round_.id, right)
    waiting = await factory.participant(province="Huế")
    await waiting.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    data = (await organizer.call("GET", f"/api/v1/admin/rounds/{round_.id}/dashboard")).json()
    assert data["participants"] == 4 and data["in_progress"] == 1 and data["submitted"] == 3
    assert sorted(map(tuple, data["by_province"])) == [("Huế", 2), ("Hà Nội", 2)]
    assert sum(n for _, n in data["per_minute"]) == 3 and len(data["per_minute"]) == 30
    assert dict((s, n) for s, n in data["score_distribution"])[7] == 2
    page = await organizer.call("GET", f"/admin/rounds/{round_.id}/dashboard")
    assert page.status_code == 200
    html = page.text
    assert html.count("<svg") == 4 and 'data-value="2"' in html
    assert re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html) is None  # no inline script
    assert 'src="/static/dashboard.js"' in html and "http" not in re.findall(r'src="([^"]*)"', html)[0]
    assert "style=" not in html.split("<main")[1]  # the CSP has no unsafe-inline styles either
    fragment = await organizer.call("GET", f"/admin/rounds/{round_.id}/dashboard/live")
    assert fragment.status_code == 200 and fragment.text.count("<svg") == 4 and "<html" not in fragment.text
    script = (await client.get("/static/dashboard.js")).text
    assert "setTimeout" in script and "data-src" in script


async def test_locality_list_feeds_statistics_with_places_nobody_came_from(factory, app, client, tmp_path):
    from app.contests.lists import ListInvalid, parse_localities

    contest = await factory.contest()
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    data = xlsx([["Tỉnh", "Huyện", "Xã"], ["Thừa Thiên Huế", "Phong Điền", "Phong An"], ["Hà Nội", "Ba Đình", ""],
                 ["Thừa Thiên Huế", "Phong Điền", "Phong An"]])
    assert parse_localities(data) == [("Thừa Thiên Huế", "Phong Điền", "Phong An"), ("Hà Nội", "Ba Đình", "")]
    response = await organizer.call("POST", f"/admin/contests/{contest.id}/localities", data={"csrf_token": "t"},
                                    cookies={"csrftoken": "t"}, files={"file": ("dia-ban.xlsx", data)})
    assert response.status_code == 303
    round_ = await factory.round(contest)
    await take_attempt(await factory.participant(province="Hà Nội"), round_.id, 5)
    from openpyxl import load_workbook

    from app.exports.reports import write_participation

    async with app.state.runtime.sessionmaker() as db:
        await write_participation(db, round_.id, tmp_path / "tk.xlsx")
    sheet = list(load_workbook(tmp_path / "tk.xlsx")["Theo tỉnh"].iter_rows(values_only=True))
    header = next(i for i, r in enumerate(sheet) if r[0] == "Tỉnh/Thành phố")
    rows = {r[0]: r[1] for r in sheet[header + 1:]}
    assert rows == {"Hà Nội": 1, "Thừa Thiên Huế": 0}
    try:
        parse_localities(xlsx([["Huyện"], ["Phong Điền"]]))
    except ListInvalid as exc:
        assert "thiếu cột" in exc.message
    else:
        raise AssertionError("a list without the province column must be refused")
    try:
        parse_localities(b"not a spreadsheet")
    except ListInvalid as exc:
        assert "không phải bảng tính" in exc.message
    else:
        raise AssertionError("garbage must be refused")


async def test_banner_is_checked_by_its_bytes_and_served(factory, app, client):
    import struct
    import zlib

    contest = await factory.contest()
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 3 for _ in range(2))
    chunk = lambda kind, body: struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))  # noqa: E731
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 2, 8, 2, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    url = f"/admin/contests/{contest.id}/banner"
    fake = await organizer.call("POST", url, data={"csrf_token": "t"}, cookies={"csrftoken": "t"},
                                files={"file": ("banner.png", b"GIF89a not really")})
    assert fake.status_code == 422 and "PNG hoặc JPEG" in fake.text
    done = await organizer.call("POST", url, data={"csrf_token": "t"}, cookies={"csrftoken": "t"},
                                files={"file": ("banner.png", png)})
    assert done.status_code == 303
    served = await client.get(f"/contests/{contest.id}/banner")
    assert served.status_code == 200 and served.content == png and served.headers["content-type"] == "image/png"
    page = await organizer.call("GET", f"/admin/contests/{contest.id}")
    assert 'width="3" height="2"' in page.text
    assert "Đổi ảnh banner" in (await organizer.call("GET", f"/admin/contests/{contest.id}/audit")).text
