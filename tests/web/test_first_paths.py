"""The first path of a citizen: an anonymous visitor follows "Đăng nhập để thi" or "Đăng ký dự
thi" (or the header links) from any page, logs in or registers, and lands on a page that works,
never on "Phương thức không được hỗ trợ" (405)."""
from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.factories import profile
from tests.web.test_pages_without_javascript import csrf_of

AUTH_LINK = re.compile(r'href="(/(?:login|register)\?next=[^"]*)"')


@pytest.fixture
async def browser(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


async def follow(browser: httpx.AsyncClient, response: httpx.Response) -> httpx.Response:
    while response.status_code in (302, 303, 307):
        response = await browser.get(response.headers["location"])
    return response


async def log_in_or_register(browser, link: str, phone: str | None, password: str) -> httpx.Response:
    form_page = await browser.get(link)
    assert form_page.status_code == 200
    if link.startswith("/login"):
        target = html.unescape(re.search(r'name="next" value="([^"]*)"', form_page.text).group(1))
        response = await browser.post("/login", data={"login": phone, "password": password, "next": target,
                                                      "csrf_token": csrf_of(form_page.text)})
    else:
        data = profile(password=password)
        form = {k: ("" if v is None else str(v)) for k, v in data.items() if k != "party_member"}
        form.update(password2=password, csrf_token=csrf_of(form_page.text))
        response = await browser.post(link, data=form)
    assert response.status_code == 303, response.text[:500]
    return response


async def anonymous_links(browser, round_) -> list[str]:
    pages = ["/", f"/contests/{round_.contest_id}", f"/rounds/{round_.id}/leaderboard", "/no-such-page"]
    links = set()
    for url in pages:
        response = await browser.get(url)
        links.update(html.unescape(link) for link in AUTH_LINK.findall(response.text))
    # The start form (a POST) and the no-JavaScript attempt form, pressed while logged out.
    token = re.search(r'name="csrf-token" content="([^"]+)"', response.text).group(1)
    start = await browser.post(f"/rounds/{round_.id}/start", data={"csrf_token": token})
    assert start.status_code == 303
    links.add(start.headers["location"])
    return sorted(links)


async def test_every_login_and_register_link_lands_on_a_working_page(factory, browser):
    round_ = await factory.round()
    participant = await factory.participant()
    links = await anonymous_links(browser, round_)
    round_card = f"/contests/{round_.contest_id}#round-{round_.id}"
    # The contest page offers both ways in, each coming back to the round's card.
    targets = {(urlsplit(link).path, parse_qs(urlsplit(link).query)["next"][0]) for link in links}
    assert ("/login", round_card) in targets and ("/register", round_card) in targets
    assert ("/login", "/") in targets and ("/login", f"/rounds/{round_.id}/leaderboard") in targets
    assert not any(target.startswith(("/login", "/register")) for _, target in targets)
    for link in links:
        browser.cookies.clear()
        response = await log_in_or_register(browser, link, participant.user["phone"], "mat-khau-an-toan")
        landed = await follow(browser, response)
        assert landed.status_code == 200, (link, landed.status_code, landed.text[:300])
        assert "Phương thức không được hỗ trợ" not in landed.text
        if "round-" in parse_qs(urlsplit(link).query)["next"][0]:  # from the start button: the round is there, ready to start
            assert "Bắt đầu thi" in landed.text, link
        if link.startswith("/register"):
            assert "Đăng ký thành công" in landed.text


async def test_an_old_start_link_shows_the_round_instead_of_an_error(factory, browser):
    round_ = await factory.round()
    response = await browser.get(f"/rounds/{round_.id}/start")
    assert response.status_code == 303
    assert response.headers["location"] == f"/contests/{round_.contest_id}#round-{round_.id}"


async def test_participant_footer_has_no_api_link(factory, browser):
    round_ = await factory.round()
    page = await browser.get(f"/contests/{round_.contest_id}")
    assert 'href="/docs"' not in page.text


# --- no dead-end error pages ------------------------------------------------------------------

RADIO = re.compile(r'<input type="radio" name="q(\d+)" value="([^"]+)"')


async def test_submit_without_prediction_comes_back_to_the_attempt_with_answers_kept(factory, browser):
    from tests.web.test_pages_without_javascript import register_through_form

    round_ = await factory.round(questions_per_attempt=3)
    await register_through_form(browser)
    contest = await browser.get(f"/contests/{round_.contest_id}")
    started = await browser.post(f"/rounds/{round_.id}/start", data={"csrf_token": csrf_of(contest.text)})
    url = started.headers["location"]
    page = await browser.get(url)
    first_qid, first_value = RADIO.findall(page.text)[0]
    response = await browser.post(url, data={f"q{first_qid}": first_value, "prediction": "", "action": "submit",
                                             "csrf_token": csrf_of(page.text)})
    assert response.status_code == 422
    assert 'id="err-prediction"' in response.text and "câu hỏi dự đoán" in response.text
    assert "Về trang chủ" not in response.text and 'id="countdown"' in response.text
    assert response.text.count("checked") == 1  # the chosen answer is kept (and saved)
    again = await browser.get(url)
    assert again.status_code == 200 and again.text.count("checked") == 1

    bad = await browser.post(url, data={"prediction": "12a", "action": "submit", "csrf_token": csrf_of(page.text)})
    assert bad.status_code == 422 and 'value="12a"' in bad.text and "số nguyên" in bad.text


async def test_leaderboard_with_unit_and_province_keeps_both_and_explains(factory, browser):
    round_ = await factory.round()
    response = await browser.get(f"/rounds/{round_.id}/leaderboard",
                                 params={"unit": "Sở Giáo dục", "province": "Hà Nội"})
    assert response.status_code == 422
    assert 'id="lb-filter-error"' in response.text and "Chỉ chọn một" in response.text
    assert 'value="Sở Giáo dục"' in response.text
    assert "Về trang chủ" not in response.text and 'id="lb-table"' in response.text


async def test_a_console_form_sent_after_the_session_ended_comes_back_to_its_page(factory, browser):
    round_ = await factory.round()
    page = await browser.get("/")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    for action in (f"/admin/rounds/{round_.id}/close", f"/admin/contests/{round_.contest_id}/staff", "/admin/staff"):
        sent = await browser.post(action, data={"csrf_token": token},
                                  headers={"referer": f"http://testserver/admin/rounds/{round_.id}"})
        assert sent.status_code == 303
        target = parse_qs(urlsplit(sent.headers["location"]).query)["next"][0]
        assert target == f"/admin/rounds/{round_.id}"  # the page the form was on, never the POST-only URL
    bare = await browser.post("/admin/staff", data={"csrf_token": token})
    assert parse_qs(urlsplit(bare.headers["location"]).query)["next"][0] == "/admin"
