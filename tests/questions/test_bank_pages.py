"""Item 6 as an organizer uses it: the bank pages, forms only (no JavaScript), with CSRF."""
from __future__ import annotations

import re

import httpx
import pytest

from app.questions.importing.legacy_fonts import encode_tcvn3
from tests.factories import profile
from tests.questions.helpers import count_questions, row, xlsx


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
async def browser(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def log_in(browser, factory, app, contest_id: int | None, role: str = "organizer") -> None:
    data = profile()
    response = await browser.post("/api/v1/auth/register", json=data)
    assert response.status_code == 201
    if contest_id is not None:
        from app.staff.models import StaffAssignment
        async with app.state.runtime.sessionmaker() as db:
            db.add(StaffAssignment(user_id=response.json()["user"]["id"], contest_id=contest_id, role=role))
            await db.commit()
    browser.cookies.clear()
    page = await browser.get("/login")
    done = await browser.post("/login", data={"login": data["phone"], "password": data["password"], "next": "/",
                                              "csrf_token": csrf_of(page.text)})
    assert done.status_code == 303


async def test_upload_report_search_edit_retire_through_the_pages(app, factory, browser, db):
    contest = await factory.contest(questions=0)
    url = f"/admin/contests/{contest.id}/bank"
    assert (await browser.get(url)).headers["location"].startswith("/login")
    await log_in(browser, factory, app, contest.id)
    page = await browser.get(url)
    assert page.status_code == 200 and "Nhập câu hỏi từ tệp" in page.text

    bad = xlsx([row(1, "Câu tốt?"), row(2, "Câu thiếu đáp án?", answer="")])
    report = await browser.post(f"{url}/import", data={"csrf_token": csrf_of(page.text)},
                                files={"file": ("ngan-hang.xlsx", bad)})
    assert report.status_code == 422
    assert "có 1 lỗi cần sửa" in report.text and "<td>3</td><td>Đáp án</td>" in report.text
    assert await count_questions(db, contest.id) == 0

    good = xlsx([row(1, encode_tcvn3("Nghị quyết Đại hội XIII được thông qua năm nào?"), ("2021", "2016")),
                 row(2, "Chỉ thị 05-CT/TW do cơ quan nào ban hành?", ("Bộ Chính trị", "Ban Bí thư"), topic="Chỉ thị 05")])
    report = await browser.post(f"{url}/import", data={"csrf_token": csrf_of(page.text)},
                                files={"file": ("ngan-hang.xlsx", good)})
    assert report.status_code == 200
    assert "Đã nhập 2 câu hỏi mới" in report.text
    assert "TCVN3 (.VnTime): 1 dòng" in report.text and "Các dòng đã chuyển: 2." in report.text

    listing = await browser.get(url, params={"search": "nghi quyet"})
    assert "Tìm thấy 1 câu hỏi" in listing.text and "Nghị quyết Đại hội XIII được thông qua năm nào?" in listing.text
    question_id = int(re.search(r'data-question-id="(\d+)"', listing.text).group(1))

    form = await browser.get(f"{url}/questions/{question_id}")
    edited = await browser.post(f"{url}/questions/{question_id}", data={
        "csrf_token": csrf_of(form.text), "text": "Nghị quyết Đại hội XIII được thông qua vào năm nào?",
        "option_a": "2021", "option_b": "2016", "option_c": "2026", "answer": "A", "topic": "Đại hội XIII",
        "difficulty": "1", "explanation": ""})
    assert edited.status_code == 303
    shown = await browser.get(edited.headers["location"])
    assert "Đã lưu" in shown.text and f"Bản sửa của câu #{question_id}" in shown.text

    invalid = await browser.post(edited.headers["location"].split("?")[0], data={
        "csrf_token": csrf_of(form.text), "text": "Câu?", "option_a": "Có", "answer": "C"})
    assert invalid.status_code == 422 and "ít nhất 2 phương án" in invalid.text

    retired = await browser.post(f"{url}/questions/{question_id}/retire", data={"csrf_token": "sai"})
    assert retired.status_code == 403  # CSRF
    listing = await browser.get(url)
    new_id = int(re.search(r'data-question-id="(\d+)"', listing.text).group(1))
    retired = await browser.post(f"{url}/questions/{new_id}/retire", data={"csrf_token": csrf_of(listing.text)})
    assert retired.status_code == 303
    after = await browser.get(retired.headers["location"])
    assert f"Đã ngừng dùng câu #{new_id}" in after.text and 'data-active="1"' in after.text
    export = await browser.get(f"{url}/export.xlsx")
    assert export.status_code == 200 and export.content[:2] == b"PK"


async def test_participants_and_other_contests_staff_are_refused(app, factory, browser):
    contest = await factory.contest(questions=2)
    other = await factory.contest(questions=2)
    await log_in(browser, factory, app, None)
    assert (await browser.get(f"/admin/contests/{contest.id}/bank")).status_code == 403
    browser.cookies.clear()
    await log_in(browser, factory, app, other.id)
    refused = await browser.get(f"/admin/contests/{contest.id}/bank")
    assert refused.status_code == 403 and "không thuộc Ban tổ chức" in refused.text
    judge_browser = browser
    judge_browser.cookies.clear()
    await log_in(judge_browser, factory, app, contest.id, role="judge")
    page = await judge_browser.get(f"/admin/contests/{contest.id}/bank")
    assert page.status_code == 200 and "Nhập câu hỏi từ tệp" not in page.text
    upload = await judge_browser.post(f"/admin/contests/{contest.id}/bank/import",
                                      data={"csrf_token": csrf_of(page.text)}, files={"file": ("x.xlsx", b"x")})
    assert upload.status_code == 403
