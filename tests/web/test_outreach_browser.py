"""The outreach pages in a real browser (issue 19): the A4 notice prints on one portrait A4 page
without the site's bars, an invitation link pre-fills registration on a phone, and the result
page offers the share link."""
from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader

from app.outreach import service
from tests.admin.helpers import make_staff
from tests.factories import profile
from tests.web.test_browser import CHROMIUM, chromium, fill_registration, phone  # noqa: F401  (fixtures)
from tests.web.test_console_browser import log_in

assert CHROMIUM


async def test_the_notice_prints_on_one_a4_page_with_its_qr_code(factory, app, client, live_server, chromium):  # noqa: F811
    contest = await factory.contest(questions=5, organizer_name="Ban Tuyên giáo Tỉnh ủy",
                                    description="Cuộc thi tìm hiểu Nghị quyết Đại hội XIV của Đảng. " * 3)
    for week in range(1, 5):
        await factory.round(contest, name=f"Tuần {week}")
    async with app.state.runtime.sessionmaker() as db:
        invitation = await service.create_invitation(db, contest.id, 1, kind="unit", unit="Trường THPT Chu Văn An")
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    context = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    try:
        await log_in(page, live_server, organizer.phone, f"/admin/contests/{contest.id}/outreach")
        await page.click(f"a[href='/admin/contests/{contest.id}/notice?invite={invitation.code}']")
        await page.wait_for_selector("#notice svg.qr")
        assert await page.inner_text("#short-link") == f"{live_server.split('://')[1]}/i/{invitation.code}"
        await page.emulate_media(media="print")
        assert not await page.is_visible("header.topbar")
        box = await page.locator("#notice svg.qr").bounding_box()
        assert box["width"] >= 200  # about 62 mm: scannable from a notice board
        pdf = PdfReader(BytesIO(await page.pdf(prefer_css_page_size=True)))
        assert len(pdf.pages) == 1
        width, height = float(pdf.pages[0].mediabox.width), float(pdf.pages[0].mediabox.height)
        assert abs(width - 595) < 3 and abs(height - 842) < 3  # A4 portrait, in points
        text = pdf.pages[0].extract_text()
        assert "Trường THPT Chu Văn An" in text and f"/i/{invitation.code}" in text and "Tuần 4" in text
    finally:
        await context.close()


async def test_an_invitation_link_prefills_registration_on_a_phone(factory, app, live_server, phone):  # noqa: F811
    contest = await factory.contest(questions=5)
    async with app.state.runtime.sessionmaker() as db:
        invitation = await service.create_invitation(db, contest.id, 1, kind="commune", province="Huế",
                                                     commune="Phường Thuận Hóa")
    await phone.goto(f"{live_server}/i/{invitation.code}")
    assert await phone.input_value("select[name=province]") == "Huế"
    assert await phone.input_value("input[name=commune]") == "Phường Thuận Hóa"
    assert "Phường Thuận Hóa, Huế" in await phone.inner_text("#invitation-note")
    data = profile()
    await fill_registration(phone, {**data, "commune": "Phường Thuận Hóa"})
    await phone.select_option("select[name=province]", "Huế")
    await phone.click("button[type=submit]:has-text('Đăng ký')")
    await phone.wait_for_url(f"{live_server}/contests/{contest.id}")
    async with app.state.runtime.sessionmaker() as db:
        counts = await service.invitation_counts(db, contest.id)
    assert counts[0]["registrations"] == 1
