"""The attempt on a flaky phone, in Debian's headless Chromium: the network is cut and restored
through the DevTools protocol (Playwright's `set_offline` is CDP Network.emulateNetworkConditions),
and what the server holds is read from the database, not from the page."""
from __future__ import annotations

import asyncio
import re

import httpx
import pytest
from playwright.async_api import Error as BrowserError
from sqlalchemy import select

from app.core.sessions import delete_session
from app.attempts.models import Attempt, AttemptAnswer
from app.questions.models import Option
from tests.web.test_browser import chromium, phone, register  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser

QUESTIONS = "fieldset.question[data-question-id]"


async def start(page, base: str, round_) -> tuple[int, list[int]]:
    """Opens the round's attempt from the contest page; (attempt id, question ids in page order)."""
    await page.goto(f"{base}/contests/{round_.contest_id}")
    await page.click("button:has-text('Bắt đầu thi')")
    await page.wait_for_selector("#countdown")
    attempt_id = int(re.search(r"/attempts/(\d+)", page.url).group(1))
    ids = await page.eval_on_selector_all(QUESTIONS, "els => els.map(e => +e.dataset.questionId)")
    return attempt_id, ids


async def choose(page, index: int, text: str) -> str:
    """Taps the first option of question `index` whose text starts with `text`; returns its text."""
    label = page.locator(QUESTIONS).nth(index).locator(f"label.option:has-text('{text}')").first
    await label.click()
    return (await label.locator("span").nth(1).inner_text()).strip()


async def stored(app, attempt_id: int) -> dict[int, str]:
    """question id -> text of the option the database holds (fresh session: committed data only)."""
    async with app.state.runtime.sessionmaker() as db:
        rows = await db.execute(select(AttemptAnswer.question_id, Option.text)
                                .join(Option, Option.id == AttemptAnswer.option_id)
                                .where(AttemptAnswer.attempt_id == attempt_id))
        return dict(rows.all())


async def attempt_row(app, attempt_id: int) -> Attempt:
    async with app.state.runtime.sessionmaker() as db:
        return await db.get(Attempt, attempt_id)


async def status_says(page, text: str, timeout: float = 15_000) -> str:
    await page.wait_for_selector(f"#save-status:has-text('{text}')", timeout=timeout)
    return await page.inner_text("#save-status")


async def begin(page, base: str, factory, questions: int, seconds: int) -> tuple[dict, int, list[int], str]:
    """Registers, opens an attempt and answers question 1 (saved while online): (person, attempt
    id, question ids in page order, text of the saved option)."""
    round_ = await factory.round(questions_per_attempt=questions, time_limit_seconds=seconds)
    person = await register(page, base)
    attempt_id, ids = await start(page, base, round_)
    first = await choose(page, 0, "Đúng")
    await status_says(page, "Đã lưu")
    return person, attempt_id, ids, first


async def offline_copy_kept(page) -> None:
    """Waits until the service worker holds this attempt page's copy (it registers on first load)."""
    for _ in range(100):
        if await page.evaluate("caches.open('ttn-attempt-pages-v1').then(c => c.match(location.pathname))"
                               ".then(Boolean)"):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("no offline copy of the attempt page")


async def test_choices_made_offline_survive_a_reload_and_are_saved_when_back_online(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 4, 600)
    await offline_copy_kept(phone)

    await phone.context.set_offline(True)
    changed = await choose(phone, 0, "Sai")  # a saved answer changed offline
    second = await choose(phone, 1, "Đúng")
    text = await status_says(phone, "Mất kết nối mạng")
    assert "2 câu trả lời chưa lên máy chủ" in text and "tự động gửi khi có mạng" in text
    assert await phone.locator(f"{QUESTIONS}.unsent").count() == 2
    await phone.screenshot(path="/tmp/offline-status-360.png")
    assert await stored(app, attempt_id) == {ids[0]: first}  # the server has only what was sent online

    # Reload without signal: the phone's copy of the page, with every choice kept on the phone.
    await phone.reload()
    assert await phone.get_attribute("#attempt-form", "data-offline-copy") == "1"
    text = await status_says(phone, "Mất kết nối mạng")
    assert "2 câu trả lời chưa lên máy chủ" in text and "bản lưu trên máy" in text
    for index, text in ((0, changed), (1, second)):
        assert await phone.locator(QUESTIONS).nth(index).locator(f"label.option:has-text('{text}') input").is_checked()
    third = await choose(phone, 2, "Sai")  # and go on answering
    await phone.screenshot(path="/tmp/offline-copy-360.png")

    # The browser is closed and reopened, still without signal: a new tab shows the copy too.
    context = phone.context
    await phone.close()
    tab = await context.new_page()
    await tab.goto(f"{live_server}/attempts/{attempt_id}")
    await status_says(tab, "3 câu trả lời chưa lên máy chủ")
    assert await stored(app, attempt_id) == {ids[0]: first}

    await context.set_offline(False)  # back online: everything is sent without a touch
    await status_says(tab, "Đã lưu tất cả")
    assert await stored(app, attempt_id) == {ids[0]: changed, ids[1]: second, ids[2]: third}
    await tab.reload()  # and the page shows what the server has, with nothing left to send
    assert await tab.get_attribute("#attempt-form", "data-offline-copy") == "0"
    for index, text in ((0, changed), (1, second), (2, third)):
        assert await tab.locator(QUESTIONS).nth(index).locator(f"label.option:has-text('{text}') input").is_checked()
    assert await tab.evaluate(f"localStorage.getItem('ttn.attempt.{attempt_id}')") is None


async def test_a_submit_pressed_offline_is_sent_when_the_connection_returns(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 3, 600)

    await phone.context.set_offline(True)
    await choose(phone, 1, "Đúng")
    await choose(phone, 2, "Đúng")
    await phone.fill("#prediction", "12")
    phone.once("dialog", lambda dialog: dialog.accept())
    await phone.click("#submit-button")
    text = await status_says(phone, "Bài sẽ được nộp tự động khi có mạng trở lại")
    assert "2 câu trả lời chưa lên máy chủ" in text
    await phone.screenshot(path="/tmp/offline-submit-360.png")
    assert (await attempt_row(app, attempt_id)).status == "in_progress"

    await phone.context.set_offline(False)
    await phone.wait_for_selector("#outcome:has-text('đã gửi khi có mạng trở lại')", timeout=15_000)
    assert await phone.inner_text("#outcome-score") == "3/3"
    attempt = await attempt_row(app, attempt_id)
    assert (attempt.status, attempt.correct, attempt.prediction, attempt.auto_submitted) == ("submitted", 3, 12, False)
    await phone.click("#outcome a:has-text('Xem kết quả')")
    await phone.wait_for_url("**/result")
    assert await phone.inner_text("#score") == "3/3"


async def test_offline_past_the_deadline_and_grace_the_page_explains_what_counted(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 3, 5)
    await phone.context.set_offline(True)
    await choose(phone, 1, "Đúng")
    await status_says(phone, "Đã hết giờ", timeout=10_000)  # the countdown ran out while offline
    await phone.screenshot(path="/tmp/offline-deadline-360.png")
    for _ in range(100):  # the server's sweep grades it at deadline + grace with what it has
        if (await attempt_row(app, attempt_id)).status == "submitted":
            break
        await asyncio.sleep(0.1)

    await phone.context.set_offline(False)
    outcome = phone.locator("#outcome")
    await outcome.locator("text=Xem kết quả").wait_for(timeout=15_000)
    text = await outcome.inner_text()
    assert "hệ thống đã tự động nộp bài lúc hết giờ với các câu trả lời đã lưu trên máy chủ" in text
    assert "1 lựa chọn trên máy này chưa kịp gửi" in text and "câu 2" in text and "không được tính" in text
    assert await phone.inner_text("#outcome-score") == "1/3"
    assert await phone.locator(f"{QUESTIONS}.lost").count() == 1
    await phone.screenshot(path="/tmp/offline-outcome-360.png", full_page=True)
    attempt = await attempt_row(app, attempt_id)
    assert (attempt.status, attempt.auto_submitted, attempt.correct) == ("submitted", True, 1)
    assert await stored(app, attempt_id) == {ids[0]: first}


async def test_stale_queued_choices_do_not_overwrite_a_second_devices_newer_ones(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 3, 600)

    await phone.context.set_offline(True)  # this phone loses signal; the person goes on here...
    mine = await choose(phone, 0, "Sai")
    second = await choose(phone, 1, "Đúng")
    await status_says(phone, "Mất kết nối mạng")
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as tablet:  # ...then on a tablet
        login = await tablet.post("/api/v1/auth/login", json={"login": person["phone"], "password": person["password"]})
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        attempt = (await tablet.get(f"/api/v1/attempts/{attempt_id}", headers=headers)).json()
        option = next(o for o in attempt["questions"][0]["options"] if o["text"].startswith("Sai") and o["text"] != mine)
        saved = await tablet.put(f"/api/v1/attempts/{attempt_id}/answers/{ids[0]}", json={"option_id": option["id"]},
                                 headers=headers)
        assert saved.status_code == 200

    await phone.context.set_offline(False)
    text = await status_says(phone, "thiết bị khác")
    assert "Câu 1" in text
    await status_says(phone, "Đã lưu tất cả")
    # The tablet's later choice stands; this phone's other queued choice still arrived.
    assert await stored(app, attempt_id) == {ids[0]: option["text"], ids[1]: second}
    first = phone.locator(QUESTIONS).nth(0)
    assert await first.locator(f"label.option:has-text('{option['text']}') input").is_checked()


async def test_a_choice_whose_acknowledgement_was_lost_is_not_taken_for_another_devices(live_server, phone, factory,
                                                                                         app):
    """The request arrived and was saved, but the reply never came back: the person's next choice
    for that question must still be sent (it is this phone's own, not a second device's)."""
    round_ = await factory.round(questions_per_attempt=2, time_limit_seconds=600)
    await register(phone, live_server)
    attempt_id, ids = await start(phone, live_server, round_)
    replies_lost = {"answers": 1, "reads": True}

    async def lose_reply(route):
        if replies_lost["answers"]:
            replies_lost["answers"] -= 1
            await route.fetch()  # reaches the server, which saves it...
            await route.abort("connectionreset")  # ...and the reply is lost on the way back
        else:
            await route.continue_()

    async def no_reads_yet(route):
        if route.request.method == "GET" and replies_lost["reads"]:
            await route.abort("internetdisconnected")
        else:
            await route.continue_()

    await phone.route("**/api/v1/attempts/*/answers/*", lose_reply)
    await phone.route(re.compile(r".*/api/v1/attempts/\d+$"), no_reads_yet)
    lost_reply = await choose(phone, 0, "Sai")
    await status_says(phone, "Mất kết nối mạng")
    assert await stored(app, attempt_id) == {ids[0]: lost_reply}
    latest = await choose(phone, 0, "Đúng")
    replies_lost["reads"] = False
    text = await status_says(phone, "Đã lưu tất cả")
    assert "thiết bị khác" not in text
    assert await stored(app, attempt_id) == {ids[0]: latest}


async def test_unsent_choices_survive_an_expired_login_and_are_sent_after_logging_in(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 3, 600)
    session = next(c["value"] for c in await phone.context.cookies() if c["name"] == "sid")
    await delete_session(app.state.runtime.redis, session)  # the login expired on the server

    second = await choose(phone, 1, "Sai")
    third = await choose(phone, 2, "Đúng")
    text = await status_says(phone, "Phiên đăng nhập đã hết hạn")
    assert "2 câu trả lời chưa lên máy chủ" in text
    await phone.screenshot(path="/tmp/login-expired-360.png")
    await phone.click("#save-status a:has-text('Đăng nhập lại')")
    await phone.fill("input[name=login]", person["phone"])
    await phone.fill("input[name=password]", person["password"])
    await phone.click("button:has-text('Đăng nhập')")
    await phone.wait_for_url(f"**/attempts/{attempt_id}")
    await status_says(phone, "Đã lưu tất cả")
    assert await stored(app, attempt_id) == {ids[0]: first, ids[1]: second, ids[2]: third}


async def test_a_phone_that_died_offline_is_told_after_the_deadline_which_choices_did_not_count(live_server, phone,
                                                                                               factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 3, 5)
    await phone.context.set_offline(True)
    await choose(phone, 2, "Đúng")
    await phone.fill("#prediction", "5")
    phone.once("dialog", lambda dialog: dialog.accept())
    await phone.click("#submit-button")  # pressed offline, kept on the phone...
    await status_says(phone, "Bài sẽ được nộp tự động khi có mạng trở lại")
    context = phone.context
    await phone.close()  # ...but the battery dies: the attempt is graded at its deadline without this phone
    for _ in range(150):
        if (await attempt_row(app, attempt_id)).status == "submitted":
            break
        await asyncio.sleep(0.1)

    await context.set_offline(False)
    later = await context.new_page()
    await later.goto(f"{live_server}/attempts/{attempt_id}")  # closed: the result page
    await later.wait_for_url("**/result")
    note = later.locator("#local-outcome")
    await note.wait_for(state="visible", timeout=10_000)
    text = await note.inner_text()
    assert "Yêu cầu nộp bài trên máy này chưa kịp gửi đến máy chủ trước khi hết giờ" in text
    assert "1 lựa chọn trên máy này chưa kịp gửi" in text and "câu 3" in text
    assert await later.inner_text("#score") == "1/3"
    assert await later.evaluate(f"localStorage.getItem('ttn.attempt.{attempt_id}')") is None


async def test_a_busy_server_is_retried_without_a_touch_and_the_person_is_told(live_server, phone, factory, app):
    person, attempt_id, ids, first = await begin(phone, live_server, factory, 2, 600)
    refusals = {"left": 2, "seen": 0}

    async def busy_then_fine(route):
        if refusals["left"]:
            refusals["left"] -= 1
            refusals["seen"] += 1
            await route.fulfill(status=503, headers={"Retry-After": "1"}, content_type="application/json",
                                body='{"error": {"code": "service_unavailable", "message": "Bận"}}')
        else:
            await route.continue_()

    await phone.route("**/api/v1/attempts/*/answers/*", busy_then_fine)
    second = await choose(phone, 1, "Sai")
    text = await status_says(phone, "Máy chủ đang bận")
    assert "1 câu trả lời chưa lên máy chủ" in text and "tự động gửi lại" in text
    await status_says(phone, "Đã lưu tất cả")
    assert refusals["seen"] == 2
    assert await stored(app, attempt_id) == {ids[0]: first, ids[1]: second}
