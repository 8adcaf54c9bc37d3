"""The consoles in a real browser (Debian's headless Chromium): an organizer uploads a bank and
creates a round, a participant completes an attempt, the organizer ends the round, the judge
confirms T, closes it and downloads the ranking, and the downloaded file is opened and checked."""
from __future__ import annotations

from datetime import timedelta

from openpyxl import Workbook, load_workbook

from app.core.clock import to_local, utcnow
from tests.admin.helpers import PASSWORD, make_staff
from tests.web.test_browser import CHROMIUM, chromium, phone, register  # noqa: F401  (fixtures)

assert CHROMIUM


def bank_file(path) -> str:
    book = Workbook()
    ws = book.active
    ws.append(["STT", "Câu hỏi", "Phương án A", "Phương án B", "Phương án C", "Đáp án", "Chủ đề", "Mức độ"])
    for i in range(1, 13):
        ws.append([i, f"Câu hỏi trình duyệt số {i}: chọn phương án đúng?", f"Đúng {i}", f"Sai {i}", f"Sai khác {i}",
                   "A", "Chủ đề trình duyệt", "Dễ"])
    book.save(path)
    return str(path)


async def log_in(page, base: str, phone_number: str, target: str) -> None:
    await page.goto(f"{base}/login?next={target}")
    await page.fill("input[name=login]", phone_number)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Đăng nhập')")
    await page.wait_for_url(base + target)


async def test_organizer_participant_and_judge_run_a_round_end_to_end(factory, app, client, live_server, chromium,  # noqa: F811
                                                                      phone, tmp_path):  # noqa: F811
    contest = await factory.contest(questions=0)
    organizer = await make_staff(app, client, roles={contest.id: "organizer"}, name="Ban Tổ Chức")
    judge = await make_staff(app, client, roles={contest.id: "judge"}, name="Ban Giám Khảo")
    desk = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True)
    page = await desk.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # Organizer: upload the bank, create a round open from now.
    await log_in(page, live_server, organizer.phone, f"/admin/contests/{contest.id}")
    await page.set_input_files("#bank-form input[type=file]", bank_file(tmp_path / "ngan-hang.xlsx"))
    await page.click("button:has-text('Tải lên ngân hàng câu hỏi')")
    await page.wait_for_selector("#summary:has-text('Đã nhập 12 câu hỏi mới')")
    await page.goto(f"{live_server}/admin/contests/{contest.id}")
    assert "12 câu hỏi đang dùng" in await page.inner_text("#bank-total")
    await page.click("nav.tabs a:has-text('Đợt thi')")  # each part of the contest is its own page
    await page.wait_for_url(f"**/admin/contests/{contest.id}/rounds")
    now = to_local(utcnow())
    await page.fill("#round-form input[name=name]", "Tuần thi trình duyệt")
    await page.fill("#round-form input[name=open_at]", (now - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#round-form input[name=close_at]", (now + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#round-form input[name=questions_per_attempt]", "10")
    await page.click("#round-form button[type=submit]")
    await page.wait_for_url("**/admin/rounds/*")
    round_id = int(page.url.split("/admin/rounds/")[1].split("?")[0])
    assert "Đã tạo đợt thi" in await page.inner_text("main")

    # Participant: a full attempt on a phone.
    await register(phone, live_server)
    await phone.goto(f"{live_server}/contests/{contest.id}")
    await phone.click("button:has-text('Bắt đầu thi')")
    await phone.wait_for_selector("#countdown")
    questions = phone.locator("fieldset.question[data-question-id]")
    assert await questions.count() == 10
    for i in range(10):
        await questions.nth(i).locator("label.option:has-text('Đúng')").click()
    await phone.fill("#prediction", "1")
    phone.once("dialog", lambda dialog: dialog.accept())
    await phone.click("#submit-button")
    await phone.wait_for_url("**/result")
    assert await phone.inner_text("#score") == "10/10"

    # Organizer watches the live dashboard: server-drawn SVG, refreshed in place by the local script.
    await page.goto(f"{live_server}/admin/rounds/{round_id}/dashboard")
    assert await page.inner_text("#participants") == "1"
    assert await page.locator("#chart-scores svg rect.bar[data-value='1']").count() == 1
    first_stamp = await page.inner_text("#generated-at")
    for _ in range(60):  # polled from Python: the strict CSP forbids Playwright's eval-based waits
        await page.wait_for_timeout(200)
        if await page.inner_text("#generated-at") != first_stamp:
            break
    assert await page.inner_text("#generated-at") != first_stamp
    assert page.url.endswith("/dashboard")  # refreshed without reloading the page

    # Organizer ends the round now (close time = this minute, already begun).
    await page.goto(f"{live_server}/admin/rounds/{round_id}")
    closing_minute = to_local(utcnow())
    await page.fill("form[action='/admin/rounds/%d'] input[name=close_at]" % round_id,
                    closing_minute.strftime("%Y-%m-%dT%H:%M"))
    await page.click("form[action='/admin/rounds/%d'] button:has-text('Lưu')" % round_id)
    await page.wait_for_selector(".notice:has-text('Đã lưu đợt thi')")
    await page.wait_for_timeout(1200)  # past the close time plus the grace period

    # Judge: confirm T (suggested: 1), close, download the ranking.
    await page.context.clear_cookies()
    await log_in(page, live_server, judge.phone, f"/admin/rounds/{round_id}")
    assert await page.inner_text("#suggested-truth") == "1"
    await page.check("#close-form input[name=confirm]")
    await page.click("#close-form button:has-text('Chốt kết quả')")
    await page.wait_for_selector(".notice:has-text('Đã chốt kết quả (lần 1)')")
    digest = (await page.inner_text("#snapshots code.digest")).strip()
    assert len(digest) == 64
    await page.click("button[data-export=ranking]")
    await page.wait_for_selector("#download", timeout=20_000)
    async with page.expect_download() as info:
        await page.click("#download")
    download = await info.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    assert saved.suffix == ".xlsx"

    ws = load_workbook(saved).active
    text = "\n".join(" ".join(str(c) for c in row if c is not None) for row in ws.iter_rows(values_only=True))
    assert digest in text and "T) = 1" in text
    header = next(r for r in range(1, 15) if ws.cell(row=r, column=1).value == "Hạng")
    assert ws.freeze_panes == f"A{header + 1}"
    first = [c.value for c in ws[header + 1]]
    assert first[0] == 1 and first[1] == "Nguyễn Văn An" and first[6] == 10 and first[8] == 1 and first[9] == 0
    assert not errors, errors  # no CSP violations or script errors on the console pages
    await desk.close()
