"""The organizer's bank page in headless Chromium, on a phone-sized screen: upload a file typed
partly in an old font, read the report and its quality report, search without accents, see a
question's source, retire a question."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.staff.models import StaffAssignment
from app.questions.importing.legacy_fonts import encode_vni
from tests.questions.helpers import row, xlsx
from tests.web.test_browser import chromium, no_horizontal_scroll, phone, register  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


async def test_organizer_uploads_reads_the_report_searches_and_retires(app, factory, live_server, phone, tmp_path):  # noqa: F811
    contest = await factory.contest(questions=0)
    person = await register(phone, live_server)
    async with app.state.runtime.sessionmaker() as db:
        user_id = await db.scalar(select(User.id).where(User.phone == person["phone"]))
        db.add(StaffAssignment(user_id=user_id, contest_id=contest.id, role="organizer"))
        await db.commit()
    bank_file = tmp_path / "ngan-hang.xlsx"
    bank_file.write_bytes(xlsx([
        row(1, "Đại hội XIII của Đảng họp năm nào?", ("2016", "2021"), answer="B", topic="Đại hội XIII",
            source=f"Báo Nhân Dân, bài về Đại hội XIII – https://nhandan.vn/{'duongdanratdai' * 8}.html"),
        row(2, encode_vni("Chủ tịch Hồ Chí Minh sinh năm nào?"), ("1890", "1900"), topic=encode_vni("Tiểu sử"))]))

    await phone.goto(f"{live_server}/admin/contests/{contest.id}/bank")
    assert await no_horizontal_scroll(phone)
    await phone.set_input_files("input[type=file][name=file]", str(bank_file))
    await phone.click("button:has-text('Tải lên')")
    await phone.wait_for_selector("#summary")
    assert "Đã nhập 2 câu hỏi mới" in await phone.inner_text("#summary")
    assert "VNI (VNI-Times): 1 dòng" in await phone.inner_text("#converted")
    assert "1/2 câu chưa ghi nguồn" in await phone.inner_text("#quality")   # a warning, the file still went in
    assert await no_horizontal_scroll(phone)

    await phone.click("a:has-text('Về ngân hàng câu hỏi')")
    assert "Nguồn: Báo Nhân Dân" in await phone.inner_text("li.question >> nth=0")
    assert await no_horizontal_scroll(phone)   # a long page address wraps

    await phone.fill("input[name=search]", "chu tich ho chi minh")
    await phone.click("button:has-text('Tìm')")
    assert "Tìm thấy 1 câu hỏi" in await phone.inner_text("#found")
    item = phone.locator("li.question").first
    assert "Chủ tịch Hồ Chí Minh sinh năm nào?" in await item.inner_text()
    await item.locator("button:has-text('Ngừng dùng')").click()
    await phone.wait_for_selector(".notice")
    assert "không còn được rút vào lượt thi mới" in await phone.inner_text(".notice")
    assert await phone.get_attribute("[data-active]", "data-active") == "1"
