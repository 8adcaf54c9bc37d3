"""Small things a citizen notices on a phone: the final leaderboard keeps names whole at 360 px,
and times read the Vietnamese way ("12,8 giây")."""
from __future__ import annotations

import httpx
import pytest

from app.leaderboard.privacy import set_name_style
from tests.admin.helpers import end_round_now, make_staff
from tests.leaderboard.journey import take_attempt
from tests.leaderboard.test_browser_board import api_participant
from tests.web.test_browser import chromium, no_horizontal_scroll, phone  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser
LONG_NAMES = ["Nguyễn Thị Phương Thảo", "Trương Nguyễn Hoàng Khánh", "Huỳnh Thị Ngọc Quyên"]


async def test_final_leaderboard_keeps_names_whole_at_360(app, factory, client, live_server, phone):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=3)
    async with app.state.runtime.sessionmaker() as db:
        await set_name_style(db, round_.id, "full")
        await db.commit()
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        for i, name in enumerate(LONG_NAMES):
            _, call = await api_participant(http, full_name=name, unit="Ban Tuyên giáo và Dân vận Tỉnh ủy")
            await take_attempt(call, round_.id, 3 - i % 2, prediction=1234567)
    judge = await make_staff(app, client, roles={round_.contest_id: "judge"})
    await end_round_now(app, round_.id)
    closed = await judge.call("POST", f"/api/v1/admin/rounds/{round_.id}/close", json={"truth": None})
    assert closed.status_code == 201, closed.text

    await phone.goto(f"{live_server}/rounds/{round_.id}/leaderboard")
    await phone.wait_for_selector("#lb-phase[data-phase=final]")
    assert await no_horizontal_scroll(phone)
    # Every word of every name stays on one line: a word's box is never taller than a line.
    broken = await phone.evaluate("""() => {
        const out = [];
        for (const el of document.querySelectorAll('#lb-rows .lb-name')) {
            const text = el.firstChild.textContent;
            let at = 0;
            for (const word of text.split(' ')) {
                const range = document.createRange();
                range.setStart(el.firstChild, at); range.setEnd(el.firstChild, at + word.length);
                if (range.getClientRects().length > 1) out.push(word);
                at += word.length + 1;
            }
        }
        return out; }""")
    assert broken == []
    times = await phone.locator("#lb-rows td.lb-num").all_inner_texts()
    assert any(t.endswith(" giây") and "," in t for t in times) and not any("." in t and "giây" in t for t in times)
    assert any(t.startswith("1.234.567") for t in times)  # thousands the Vietnamese way
    await phone.screenshot(path="/tmp/shots-20-final-board-360.png", full_page=True)
