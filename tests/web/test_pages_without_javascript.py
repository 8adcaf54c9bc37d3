"""The pages as a participant on a phone without JavaScript uses them: forms, redirects, messages."""
from __future__ import annotations

import re

import httpx
import pytest

from app.questions.importing.results import ParsedQuestion
from app.questions.service import add_parsed_questions
from tests.factories import profile

RADIO = re.compile(r'<input type="radio" name="q(\d+)" value="([^"]+)"[^>]*>\s*'
                   r'<span class="letter">([A-F])\.</span> <span>([^<]*)</span>')


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.fixture
async def browser(app):
    """A cookie-keeping client, like a phone's browser."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def register_through_form(browser, **overrides) -> dict:
    page = await browser.get("/register")
    data = profile(**overrides)
    form = {k: ("" if v is None else str(v)) for k, v in data.items() if k != "party_member"}
    form.update(password2=data["password"], csrf_token=csrf_of(page.text), party_member="1")
    response = await browser.post("/register", data=form)
    assert response.status_code == 303, response.text
    return data


async def test_full_attempt_through_forms_only(factory, browser):
    round_ = await factory.round(questions_per_attempt=5)
    await register_through_form(browser)
    contest_page = await browser.get(f"/contests/{round_.contest_id}")
    assert "Bắt đầu thi" in contest_page.text and "Thể lệ" in contest_page.text

    started = await browser.post(f"/rounds/{round_.id}/start", data={"csrf_token": csrf_of(contest_page.text)})
    assert started.status_code == 303
    attempt_url = started.headers["location"]
    page = await browser.get(attempt_url)
    assert page.status_code == 200
    assert "Còn lại" in page.text and "Câu hỏi dự đoán" in page.text
    radios = RADIO.findall(page.text)
    questions = {qid for qid, *_ in radios}
    assert len(questions) == 5
    right = {f"q{qid}": value for qid, value, _, text in radios if text.startswith("Đúng")}

    # "Lưu bài" without JavaScript keeps the answers and the page shows them checked.
    first_two = dict(list(right.items())[:2])
    saved = await browser.post(attempt_url, data={**first_two, "action": "save", "csrf_token": csrf_of(page.text)})
    assert saved.status_code == 303
    again = await browser.get(saved.headers["location"])
    assert "Đã lưu các câu trả lời." in again.text
    assert again.text.count("checked") == 2

    submitted = await browser.post(attempt_url, data={**right, "prediction": "1.234", "action": "submit",
                                                      "csrf_token": csrf_of(again.text)})
    assert submitted.status_code == 303
    result = await browser.get(submitted.headers["location"])
    assert result.status_code == 200
    assert re.search(r'<strong id="score">5/5</strong>', result.text)
    assert "Số dự đoán: <strong>1.234</strong>" in result.text
    assert "Thi lượt tiếp theo" in result.text  # 1 of 2 attempts used


async def test_registration_errors_are_shown_next_to_fields_in_vietnamese(browser):
    page = await browser.get("/register")
    response = await browser.post("/register", data={
        "csrf_token": csrf_of(page.text), "full_name": "An", "date_of_birth": "31/02/1990", "gender": "male",
        "phone": "0123", "citizen_id": "001090123456", "province": "Hà Nội", "commune": "X",
        "password": "mat-khau-1", "password2": "mat-khau-2"})
    assert response.status_code == 422
    assert "Ngày sinh không hợp lệ" in response.text
    assert "Mật khẩu nhập lại không khớp." in response.text
    assert 'value="0123"' in response.text  # what was typed is kept
    assert "mat-khau-1" not in response.text  # passwords are never echoed back


async def test_forms_without_the_csrf_token_are_refused(factory, browser):
    round_ = await factory.round()
    await register_through_form(browser)
    response = await browser.post(f"/rounds/{round_.id}/start", data={})
    assert response.status_code == 403
    assert "Hãy tải lại trang" in response.text


async def test_login_page_and_wrong_password_message(browser):
    data = await register_through_form(browser)
    browser.cookies.clear()
    page = await browser.get("/login")
    wrong = await browser.post("/login", data={"login": data["phone"], "password": "khong-dung-1",
                                               "csrf_token": csrf_of(page.text), "next": "/"})
    assert wrong.status_code == 401
    assert "Số điện thoại/CCCD hoặc mật khẩu không đúng." in wrong.text
    ok = await browser.post("/login", data={"login": data["citizen_id"], "password": data["password"],
                                            "csrf_token": csrf_of(wrong.text), "next": "https://evil.example/"})
    assert ok.status_code == 303 and ok.headers["location"] == "/"  # no open redirect


async def test_attempt_pages_need_login(factory, browser):
    response = await browser.get("/attempts/1")
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=/attempts/1")


async def test_question_text_is_escaped(factory, browser, app):
    contest = await factory.contest(questions=0)
    async with app.state.runtime.sessionmaker() as db:
        await add_parsed_questions(db, contest.id, [ParsedQuestion(
            row=2, text='<script>alert("x")</script> Câu hỏi?', options=("<b>Đúng</b>", "Sai"), answer_index=0,
            topic=None, difficulty=2, explanation=None)])
    round_ = await factory.round(contest, questions_per_attempt=1)
    await register_through_form(browser)
    page = await browser.get(f"/contests/{contest.id}")
    started = await browser.post(f"/rounds/{round_.id}/start", data={"csrf_token": csrf_of(page.text)})
    html = (await browser.get(started.headers["location"])).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


async def test_pages_carry_security_headers(client):
    response = await client.get("/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_unknown_pages_get_a_vietnamese_page_and_api_gets_json(client):
    page = await client.get("/khong-co-trang-nay")
    assert page.status_code == 404 and "Không tìm thấy" in page.text and "<html" in page.text
    api = await client.get("/api/v1/khong-co")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


async def test_oversized_bodies_are_refused_early(client, app):
    limit = app.state.runtime.settings.max_body_bytes
    response = await client.post("/api/v1/auth/login", content=b"{" + b" " * (limit + 10) + b"}",
                                 headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"


async def test_docs_page_is_served_without_any_cdn(client):
    docs = await client.get("/docs")
    assert docs.status_code == 200
    assert "cdn." not in docs.text and "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs.text
    assert "<script>" not in docs.text  # the init script is external, allowed by the CSP
    spec = (await client.get("/openapi.json")).json()
    for path in ("/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/logout", "/api/v1/me",
                 "/api/v1/contests", "/api/v1/contests/{contest_id}", "/api/v1/rounds/{round_id}/attempts",
                 "/api/v1/attempts/{attempt_id}", "/api/v1/attempts/{attempt_id}/answers/{question_id}",
                 "/api/v1/attempts/{attempt_id}/submit"):
        assert path in spec["paths"], path
