"""The staff console as organizers use it, in a real browser at 360 px and 1366 px: one page per
part of a contest, errors next to the field, a confirmation after every action, created staff
listed, disabled buttons that say why, readable audit log and charts, nothing wider than a phone."""
from __future__ import annotations

import pytest

from tests.admin.helpers import PASSWORD, make_staff, take_attempt
from tests.web.test_browser import CHROMIUM, chromium, no_horizontal_scroll  # noqa: F401  (fixtures)
from tests.web.test_console_browser import log_in

pytestmark = pytest.mark.browser
SHOTS = "/tmp/shots-20-console"
SIZES = {"360": dict(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True, device_scale_factor=2),
         "1366": dict(viewport={"width": 1366, "height": 850})}


@pytest.mark.parametrize("size", SIZES)
async def test_admin_runs_a_contest_console_at_phone_and_laptop_width(app, factory, client, live_server, chromium,  # noqa: F811
                                                                     size):
    round_ = await factory.round(name="Tuần 1", questions_per_attempt=10)
    await take_attempt(await factory.participant(province="Huế"), round_.id, 7)
    admin = await make_staff(app, client, admin=True, name="Quản Trị Viên")
    context = await chromium.new_context(locale="vi-VN", **SIZES[size])
    page = await context.new_page()
    try:
        await log_in(page, live_server, admin.phone, "/admin")
        # Create a staff account: a confirmation, and the account is listed.
        await page.fill("input[name=full_name]", "Lê Thị Tổ Chức")
        phone_number = "0987" + admin.phone[-6:]
        await page.fill("#staff-form + form input[name=phone]", phone_number)
        await page.fill("#staff-form + form input[name=password]", "12345678")
        await page.click("button:has-text('Tạo tài khoản')")
        assert "phổ biến" in await page.inner_text("#err-password")  # refused, next to the field, name kept
        assert await page.input_value("#staff-form + form input[name=full_name]") == "Lê Thị Tổ Chức"
        await page.fill("#staff-form + form input[name=password]", PASSWORD)
        async with page.expect_navigation():
            await page.click("button:has-text('Tạo tài khoản')")
        # Whatever the page answered (a confirmation or a refusal), shown when it is not the confirmation.
        answer = await page.inner_text("main")
        assert "Đã tạo tài khoản cán bộ Lê Thị Tổ Chức" in answer, answer[:1500]
        assert "Lê Thị Tổ Chức" in await page.inner_text("#staff-account-list")
        assert await no_horizontal_scroll(page)
        await page.screenshot(path=f"{SHOTS}-home-{size}.png", full_page=True)

        # The contest's parts, one page each, reached from the tabs.
        await page.goto(f"{live_server}/admin/contests/{round_.contest_id}")
        for tab, url_tail in (("Cán bộ", "/staff"), ("Đợt thi", "/rounds"), ("Nhật ký", "/audit"),
                              ("Kết quả", "/results"), ("Đơn vị, địa bàn", "/units"), ("Tổng quan", "")):
            await page.click(f"nav.tabs a:has-text('{tab}')")
            await page.wait_for_url(f"**/admin/contests/{round_.contest_id}{url_tail}")
            assert await page.get_attribute("nav.tabs a.current", "href") == f"/admin/contests/{round_.contest_id}{url_tail}"
            assert await no_horizontal_scroll(page), tab
        await page.screenshot(path=f"{SHOTS}-overview-{size}.png", full_page=True)

        # Assign the new account: confirmation, listed; an unknown phone: the message next to the field.
        await page.click("nav.tabs a:has-text('Cán bộ')")
        await page.fill("#assign-form input[name=phone]", "0399999999")
        await page.click("#assign-form button")
        assert "Không có tài khoản" in await page.inner_text("#err-phone")
        await page.fill("#assign-form input[name=phone]", phone_number)
        await page.select_option("#assign-form select[name=role]", "judge")
        await page.click("#assign-form button")
        await page.wait_for_selector(".flash:has-text('Đã phân quyền Ban giám khảo')")
        assert "Lê Thị Tổ Chức" in await page.inner_text("#staff")
        await page.screenshot(path=f"{SHOTS}-staff-{size}.png", full_page=True)

        # A round form error shows next to its field, what was typed kept.
        await page.click("nav.tabs a:has-text('Đợt thi')")
        await page.fill("#round-form input[name=name]", "Tuần 2")
        await page.fill("#round-form input[name=open_at]", "2026-12-10T08:00")
        await page.fill("#round-form input[name=close_at]", "2026-12-01T08:00")
        await page.click("#round-form button[type=submit]")
        await page.wait_for_selector("#round-form .field-error")
        assert "sau thời điểm mở" in await page.inner_text("#round-form")
        assert await page.input_value("#round-form input[name=name]") == "Tuần 2"
        await page.screenshot(path=f"{SHOTS}-round-error-{size}.png", full_page=True)

        # The audit log: Vietnamese, local time, readable before/after.
        await page.click("nav.tabs a:has-text('Nhật ký')")
        text = await page.inner_text("#audit")
        assert "Phân quyền" in text and "Ban giám khảo" in text and "\\u" not in text and "{" not in text
        await page.screenshot(path=f"{SHOTS}-audit-{size}.png", full_page=True)

        # The round page: the export that needs closing says why, visibly.
        await page.goto(f"{live_server}/admin/rounds/{round_.id}")
        assert await page.is_disabled("button[data-export=ranking]")
        assert "chốt kết quả trước" in await page.inner_text("#why-ranking")
        assert await no_horizontal_scroll(page)
        await page.screenshot(path=f"{SHOTS}-round-{size}.png", full_page=True)

        # The live dashboard's charts keep readable text on a phone.
        await page.goto(f"{live_server}/admin/rounds/{round_.id}/dashboard")
        sizes = await page.evaluate("""() => [...document.querySelectorAll('#live svg text')]
            .map(t => t.getBoundingClientRect().height).filter(h => h > 0)""")
        assert sizes and min(sizes) >= 10, sizes  # px on screen: not shrunk to unreadable
        assert await no_horizontal_scroll(page)
        await page.screenshot(path=f"{SHOTS}-dashboard-{size}.png", full_page=True)
    finally:
        await context.close()
