"""The leaderboard page in headless Chromium on a 360-px phone: it redraws the table and the
visitor's own rank from the JSON API as results come in, without reloading the page."""
from __future__ import annotations

import httpx
import pytest

from tests.factories import profile
from tests.leaderboard.journey import take_attempt
from tests.web.test_browser import chromium, no_horizontal_scroll, phone  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


async def api_participant(http: httpx.AsyncClient, **overrides):
    data = profile(**overrides)
    registered = await http.post("/api/v1/auth/register", json=data)
    assert registered.status_code == 201, registered.text
    headers = {"Authorization": f"Bearer {registered.json()['token']}"}
    http.cookies.clear()

    async def call(method, url, **kwargs):
        return await http.request(method, url, headers=headers, **kwargs)
    return data, call


async def test_the_board_refreshes_in_place_as_results_come_in(factory, live_server, phone):
    round_ = await factory.round(questions_per_attempt=4)
    async with httpx.AsyncClient(base_url=live_server, timeout=10) as http:
        me, my_call = await api_participant(http, full_name="Hoàng Thị Lan", unit="Sở Tư pháp")
        await take_attempt(my_call, round_.id, 3)

        await phone.goto(f"{live_server}/login?next=/rounds/{round_.id}/leaderboard")
        await phone.fill("input[name=login]", me["phone"])
        await phone.fill("input[name=password]", me["password"])
        await phone.click("button[type=submit]:has-text('Đăng nhập')")
        await phone.wait_for_url(f"**/rounds/{round_.id}/leaderboard")
        assert await phone.inner_text("#lb-count") == "1"
        assert "hạng 1/1" in await phone.inner_text("#my-standing")
        assert "Hoàng T. L. (bạn)" in await phone.inner_text("#lb-rows")
        assert await no_horizontal_scroll(phone)
        # Marks this very document: a full reload would lose it.
        await phone.evaluate("window.__sameDocument = true")

        _, other_call = await api_participant(http, full_name="Đinh Văn Quang", unit="Sở Tư pháp")
        await take_attempt(other_call, round_.id, 4)
        await phone.wait_for_selector("#lb-count:text-is('2')", timeout=20_000)
        rows = phone.locator("#lb-rows tr")
        assert await rows.count() == 2
        assert await rows.nth(0).locator(".lb-rank").inner_text() == "1"
        assert await rows.nth(0).locator(".lb-name").inner_text() == "Đinh V. Q."
        assert "4/4" in await rows.nth(0).inner_text()
        assert "Hoàng T. L. (bạn)" in await rows.nth(1).inner_text()
        assert "lb-me" in await rows.nth(1).get_attribute("class")
        await phone.wait_for_selector("#my-standing:has-text('hạng 2/2')", timeout=20_000)
        neighbours = phone.locator("#lb-around tr")
        assert await neighbours.count() == 2
        assert await neighbours.nth(0).locator(".lb-name").inner_text() == "Đinh V. Q."
        assert "lb-me" in await neighbours.nth(1).get_attribute("class")
        assert await phone.evaluate("window.__sameDocument === true")
        assert "Cập nhật lúc" in await phone.inner_text("#lb-updated")
        assert await no_horizontal_scroll(phone)
