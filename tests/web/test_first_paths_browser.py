"""The first path in a real browser: a visitor on a phone presses "Đăng ký dự thi" on a contest
page, registers, comes back to the round with a confirmation, and starts; a returning citizen
on a laptop does the same through "Đăng nhập để thi"."""
from __future__ import annotations

import pytest

from tests.factories import profile
from tests.web.test_browser import CHROMIUM, chromium, no_horizontal_scroll, phone  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-20"


@pytest.fixture
async def laptop(chromium):  # noqa: F811
    context = await chromium.new_context(viewport={"width": 1366, "height": 850}, locale="vi-VN")
    page = await context.new_page()
    yield page
    await context.close()


async def fill_registration(page, data: dict) -> None:
    await page.fill("input[name=full_name]", data["full_name"])
    await page.fill("input[name=date_of_birth]", data["date_of_birth"])
    await page.check("input[name=gender][value=male]")
    await page.fill("input[name=phone]", data["phone"])
    await page.fill("input[name=citizen_id]", data["citizen_id"])
    await page.select_option("select[name=province]", "Hà Nội")
    await page.fill("input[name=commune]", data["commune"])
    await page.fill("input[name=password]", data["password"])
    await page.fill("input[name=password2]", data["password"])


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
