"""Prize integrity in a real browser (Debian's headless Chromium): the registration page keeps a
random browser id in localStorage and sends it (only its keyed hash is stored); a judge reads the
suspicious-accounts page of a closed round and excludes a ring account through its form."""
from __future__ import annotations

from sqlalchemy import select

from app.accounts.models import User
from app.integrity.models import AccountEvent
from app.integrity.signals import device_hash
from tests.admin.helpers import end_round_now, make_staff
from tests.integrity.population import populate
from tests.web.test_browser import CHROMIUM, chromium, phone, register  # noqa: F401  (fixtures)
from tests.web.test_console_browser import log_in

assert CHROMIUM


async def test_the_browser_id_is_sent_and_only_its_hash_is_stored(app, live_server, phone, db):  # noqa: F811
    data = await register(phone, live_server)
    stored = await phone.evaluate("window.localStorage.getItem('ttn-device')")
    assert stored and len(stored) == 32
    user_id = await db.scalar(select(User.id).where(User.phone == data["phone"]))
    devices = (await db.scalars(select(AccountEvent.device).where(AccountEvent.user_id == user_id))).all()
    await db.rollback()
    assert devices == [device_hash(app.state.runtime.settings.effective_secret_key, stored)]
    assert stored not in await phone.content()  # never shown back to the participant


async def test_a_judge_reads_the_report_and_excludes_a_ring_account(factory, app, client, live_server, chromium):  # noqa: F811
    round_ = await factory.round(prediction_enabled=True)
    population = await populate(app, round_.id, normal=150, ring=8, seed=3)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"}, name="Ban Giám Khảo")
    await end_round_now(app, round_.id)
    assert (await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={})).status_code == 201
    desk = await chromium.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await desk.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    await log_in(page, live_server, judge.phone, f"/admin/rounds/{round_.id}")
    await page.click("#integrity-link")
    await page.wait_for_url(f"**/admin/rounds/{round_.id}/integrity")
    assert await page.inner_text("#participants") == "158"
    ring_cluster = page.locator("section.cluster", has=page.locator("tr[data-kind=device]"))
    assert await ring_cluster.count() == 1
    assert await ring_cluster.get_attribute("data-size") == "8"
    signals = await ring_cluster.locator("table.signals").inner_text()
    assert "Cùng trình duyệt/thiết bị" in signals and "8 dự đoán khác nhau" in signals and "Vì sao" in signals

    target = population.ring_ids[0]
    row = ring_cluster.locator(f"tr[data-user-id='{target}']")
    await row.locator("input[name=reason]").fill("Một người điều khiển 8 tài khoản trên cùng một trình duyệt")
    await row.locator("button:has-text('Loại')").click()
    await page.wait_for_selector(".notice:has-text('Bảng kết quả mới: lần 2')")
    assert "Đã loại" in await page.locator(f"section.cluster tr[data-user-id='{target}']").inner_text()
    assert "Một người điều khiển 8 tài khoản" in await page.inner_text("#exclusions")
    await page.goto(f"{live_server}/admin/rounds/{round_.id}")
    versions = await page.inner_text("#snapshots")
    assert "Loại tài khoản" in versions and "157" in versions
    assert not errors, errors
    await desk.close()
