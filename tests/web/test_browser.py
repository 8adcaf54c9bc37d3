"""The pages in a real browser (Debian's headless Chromium driven by Playwright): what a
participant on a 360-px phone sees and does, including the countdown, autosave and auto-submit."""
from __future__ import annotations

import os
import shutil

import pytest

from tests.factories import profile

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

if CHROMIUM is None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        raise RuntimeError("REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
async def chromium():
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"])
        yield browser
        await browser.close()


@pytest.fixture
async def phone(chromium):
    context = await chromium.new_context(viewport={"width": 360, "height": 740}, locale="vi-VN",
                                         device_scale_factor=2, is_mobile=True, has_touch=True)
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
    await page.fill("input[name=unit]", data["unit"])
    await page.fill("input[name=password]", data["password"])
    await page.fill("input[name=password2]", data["password"])


async def register(page, base: str) -> dict:
    data = profile()
    await page.goto(base + "/register")
    await fill_registration(page, data)
    await page.click("button[type=submit]:has-text('Đăng ký')")
    await page.wait_for_url(base + "/")
    return data


async def no_horizontal_scroll(page) -> bool:
    return await page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


async def test_participant_takes_an_attempt_on_a_phone(factory, live_server, phone, tmp_path):
    round_ = await factory.round(questions_per_attempt=5, time_limit_seconds=600)
    await register(phone, live_server)
    await phone.goto(f"{live_server}/contests/{round_.contest_id}")
    assert await no_horizontal_scroll(phone)
    await phone.click("button:has-text('Bắt đầu thi')")
    await phone.wait_for_selector("#countdown")
    first = await phone.inner_text("#countdown")
    await phone.wait_for_timeout(1500)
    assert await phone.inner_text("#countdown") != first  # the countdown runs
    assert await no_horizontal_scroll(phone)

    # Autosave: choose the right option of the first question, wait for "Đã lưu", reload.
    questions = phone.locator("fieldset.question[data-question-id]")
    assert await questions.count() == 5
    await questions.nth(0).locator("label.option:has-text('Đúng')").click()
    await phone.wait_for_selector("#save-status:has-text('Đã lưu')")
    await phone.reload()
    assert await questions.nth(0).locator("label.option:has-text('Đúng') input").is_checked()

    for i in range(1, 5):
        await questions.nth(i).locator("label.option:has-text('Đúng')").click()
    await phone.fill("#prediction", "321")
    await phone.screenshot(path=str(tmp_path / "attempt.png"), full_page=True)
    await phone.screenshot(path="/tmp/attempt.png", full_page=False)
    phone.once("dialog", lambda dialog: dialog.accept())
    await phone.click("#submit-button")
    await phone.wait_for_url("**/result")
    assert (await phone.inner_text("#score")) == "5/5"
    assert "321" in await phone.inner_text("main")
    assert await no_horizontal_scroll(phone)


async def test_attempt_is_submitted_automatically_at_the_deadline(factory, live_server, phone):
    round_ = await factory.round(questions_per_attempt=3, time_limit_seconds=4)
    await register(phone, live_server)
    await phone.goto(f"{live_server}/contests/{round_.contest_id}")
    await phone.click("button:has-text('Bắt đầu thi')")
    await phone.wait_for_selector("#countdown")
    await phone.locator("fieldset.question[data-question-id]").nth(0).locator("label.option:has-text('Đúng')").click()
    await phone.wait_for_selector("#save-status:has-text('Đã lưu')")
    await phone.wait_for_url("**/result", timeout=15_000)
    text = await phone.inner_text("main")
    assert "1/3" in text
    assert "tự động nộp" in text
