"""The first path in a real browser: a visitor on a phone presses "Đăng ký dự thi" on a contest
page, registers, comes back to the round with a confirmation, and starts; a returning citizen
on a laptop does the same through "Đăng nhập để thi"."""
from __future__ import annotations

import pytest

from tests.factories import profile
from tests.web.test_browser import CHROMIUM, chromium, fill_registration, no_horizontal_scroll, phone  # noqa: F401

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-20"


@pytest.fixture
async def laptop(chromium):  # noqa: F811
    context = await chromium.new_context(viewport={"width": 1366, "height": 850}, locale="vi-VN")
    page = await context.new_page()
    yield page
    await context.close()


async def test_visitor_registers_from_the_start_button_and_lands_on_the_round(factory, live_server, phone):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=3)
    await phone.goto(f"{live_server}/contests/{round_.contest_id}")
    await phone.click("a:has-text('Đăng ký dự thi')")
    data = profile()
    await fill_registration(phone, data)
    await phone.screenshot(path=f"{SHOTS}-register-360.png", full_page=True)
    await phone.click("button[type=submit]:has-text('Đăng ký')")
    await phone.wait_for_url(f"**/contests/{round_.contest_id}#round-{round_.id}")
    assert "Đăng ký thành công" in await phone.inner_text(".flash")
    assert await no_horizontal_scroll(phone)
    await phone.screenshot(path=f"{SHOTS}-registered-360.png", full_page=True)
    await phone.click(f"#round-{round_.id} button:has-text('Bắt đầu thi')")
    await phone.wait_for_selector("#countdown")
    assert "/attempts/" in phone.url


async def test_citizen_logs_in_from_the_start_button_and_lands_on_the_round(factory, live_server, laptop):
    round_ = await factory.round(questions_per_attempt=3)
    participant = await factory.participant()
    await laptop.goto(f"{live_server}/contests/{round_.contest_id}")
    await laptop.screenshot(path=f"{SHOTS}-contest-anon-1366.png", full_page=True)
    await laptop.click("a:has-text('Đăng nhập để thi')")
    await laptop.fill("input[name=login]", participant.user["phone"])
    await laptop.fill("input[name=password]", "mat-khau-an-toan")
    await laptop.click("button[type=submit]:has-text('Đăng nhập')")
    await laptop.wait_for_url(f"**/contests/{round_.contest_id}#round-{round_.id}")
    assert "Phương thức không được hỗ trợ" not in await laptop.inner_text("main")
    await laptop.click(f"#round-{round_.id} button:has-text('Bắt đầu thi')")
    await laptop.wait_for_selector("#countdown")


async def start_round_as_new_citizen(page, base: str, round_) -> None:
    await page.goto(f"{base}/register?next=/contests/{round_.contest_id}")
    await fill_registration(page, profile())
    await page.click("button[type=submit]:has-text('Đăng ký')")
    await page.wait_for_url(f"**/contests/{round_.contest_id}")
    await page.click("button:has-text('Bắt đầu thi')")
    await page.wait_for_selector("fieldset.question")


async def test_submit_without_prediction_stays_on_the_attempt(factory, live_server, phone):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=3)
    await start_round_as_new_citizen(phone, live_server, round_)
    first = phone.locator("fieldset.question[data-question-id]").nth(0)
    await first.locator("label.option:has-text('Đúng')").click()
    phone.once("dialog", lambda dialog: dialog.accept())
    await phone.click("#submit-button")
    await phone.wait_for_selector("#err-prediction")
    assert "/attempts/" in phone.url and not phone.url.endswith("/result")
    assert await first.locator("label.option:has-text('Đúng') input").is_checked()
    before = await phone.inner_text("#countdown")
    await phone.wait_for_timeout(1200)
    assert await phone.inner_text("#countdown") != before  # time keeps running
    await phone.locator("#err-prediction").scroll_into_view_if_needed()
    await phone.screenshot(path=f"{SHOTS}-prediction-error-360.png")
    assert await no_horizontal_scroll(phone)


async def test_leaderboard_filter_conflict_on_a_phone(factory, live_server, phone):  # noqa: F811
    round_ = await factory.round()
    await phone.goto(f"{live_server}/rounds/{round_.id}/leaderboard")
    await phone.fill("input[name=unit]", "Sở Tư pháp")
    await phone.evaluate("""() => { const s = document.querySelector('select[name=province]');
        s.add(new Option('Hà Nội', 'Hà Nội', true, true)); }""")
    await phone.click("button:has-text('Xem')")
    await phone.wait_for_selector("#lb-filter-error")
    assert await phone.input_value("input[name=unit]") == "Sở Tư pháp"
    assert await phone.input_value("select[name=province]") == "Hà Nội"
    await phone.screenshot(path=f"{SHOTS}-lb-filter-360.png", full_page=True)


async def test_attempt_page_without_javascript_says_what_is_true(factory, live_server, chromium):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=3)
    context = await chromium.new_context(viewport={"width": 360, "height": 740}, java_script_enabled=False)
    page = await context.new_page()
    try:
        await start_round_as_new_citizen(page, live_server, round_)
        text = await page.inner_text("main")
        assert "chỉ được lưu khi bạn bấm \"Lưu bài\"" in text
        assert "được lưu ngay khi bạn chọn" not in text and "Còn lại" not in text
        assert "Hạn nộp" in text
        await page.screenshot(path=f"{SHOTS}-attempt-nojs-360.png")
    finally:
        await context.close()


async def test_registration_explains_future_birth_date_and_guessable_password(live_server, phone):  # noqa: F811
    await phone.goto(f"{live_server}/register?next=/")
    data = profile(date_of_birth="2099-01-01")
    await fill_registration(phone, {**data, "password": data["phone"]})
    await phone.click("button[type=submit]:has-text('Đăng ký')")
    await phone.wait_for_selector("#err-date_of_birth")
    assert "tương lai" in await phone.inner_text("#err-date_of_birth")
    assert "số điện thoại" in await phone.inner_text("#err-password")
    assert await phone.input_value("input[name=phone]") == data["phone"]  # everything typed is kept
    assert await no_horizontal_scroll(phone)
    await phone.locator("#err-password").scroll_into_view_if_needed()
    await phone.screenshot(path=f"{SHOTS}-register-errors-360.png")


async def test_forgotten_password_request_and_console_on_a_phone(app, factory, client, live_server, phone):  # noqa: F811
    from tests.admin.helpers import PASSWORD, make_staff
    from tests.web.test_console_browser import log_in

    citizen = await factory.participant()
    await phone.goto(f"{live_server}/login")
    await phone.click("a:has-text('Quên mật khẩu?')")
    await phone.fill("input[name=login]", citizen.user["phone"])
    await phone.fill("input[name=contact_note]", "Gọi tôi sau 17 giờ")
    await phone.click("button:has-text('Gửi yêu cầu')")
    await phone.wait_for_selector("#forgot-sent")
    await phone.screenshot(path=f"{SHOTS}-forgot-sent-360.png")

    admin = await make_staff(app, client, admin=True)
    await log_in(phone, live_server, admin.phone, "/admin/password-resets")
    card = phone.locator(".card", has_text=citizen.user["full_name"])
    await card.locator("input[name=citizen_id]").fill(citizen.user["citizen_id"])
    await card.locator("input[name=date_of_birth]").fill("1990-05-19")
    await card.locator("input[name=phone]").fill(citizen.user["phone"])
    await card.locator("button:has-text('Xác minh và cấp mã')").click()
    await phone.wait_for_selector("#issued-code")
    assert await no_horizontal_scroll(phone)
    await phone.screenshot(path=f"{SHOTS}-reset-console-360.png", full_page=True)
