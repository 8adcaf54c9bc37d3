"""Accessibility in a real browser (issue 19, WCAG 2.2 AA as Circular 32/2017/TT-BTTTT asks): axe-core
on every participant and console page at a phone's and a desktop's size, reflow at 200% text on a
360-px phone, the countdown's announcements, focus that stays visible and is never hidden under
the sticky timer, and register/login errors a screen reader user can find."""
from __future__ import annotations

from datetime import timedelta

import pytest

from app.core.clock import utcnow
from tests.admin.helpers import make_staff
from tests.factories import profile
from tests.web.a11y import axe_source, axe_violations, horizontal_overflow, set_text_size
from tests.web.test_browser import CHROMIUM, chromium, fill_registration, register  # noqa: F401  (fixtures)
from tests.web.test_console_browser import log_in

assert CHROMIUM

SIZES = {"phone": dict(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True),
         "desktop": dict(viewport={"width": 1280, "height": 900})}


@pytest.fixture(scope="module")
def axe():
    return axe_source()


async def _new_page(chromium, size: str):  # noqa: F811
    context = await chromium.new_context(locale="vi-VN", **SIZES[size])
    return context, await context.new_page()


async def _participant_pages(factory, base: str, page) -> tuple[list[str], object]:
    """Registers in the browser, takes an attempt and opens a second one: the URLs of every page a
    participant sees, in the state they see it."""
    round_ = await factory.round(questions_per_attempt=4, time_limit_seconds=600, attempts_allowed=3)
    urls = [f"{base}/", f"{base}/register", f"{base}/login", f"{base}/forgot", f"{base}/reset",
            f"{base}/contests/{round_.contest_id}", f"{base}/rounds/{round_.id}/leaderboard", f"{base}/khong-co-trang-nay"]
    await register(page, base)
    await page.goto(f"{base}/contests/{round_.contest_id}")
    await page.click("button:has-text('Bắt đầu thi')")
    await page.wait_for_selector("#countdown")
    attempt_url = page.url
    options = page.locator("label.option")
    await options.first.click()
    await page.fill("#prediction", "3")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.click("#submit-button")
    await page.wait_for_url("**/result")
    share = await page.get_attribute("#share-url", "value")
    urls += [attempt_url + "/result", f"{base}/contests/{round_.contest_id}",
             base + "/" + share.split("/", 3)[3]]  # the shared result card (served at this test server's address)
    await page.click("button:has-text('Thi lượt tiếp theo')")
    await page.wait_for_selector("#countdown")
    urls += [page.url, f"{base}/rounds/{round_.id}/leaderboard", f"{base}/"]
    return urls, round_


def _console_urls(base: str, contest_id: int, round_id: int) -> list[str]:
    contest = f"{base}/admin/contests/{contest_id}"
    return [f"{base}/admin", contest, *(f"{contest}/{tab}" for tab in ("rounds", "units", "staff", "audit", "results")),
            f"{contest}/bank", f"{base}/admin/rounds/{round_id}", f"{base}/admin/rounds/{round_id}/dashboard",
            f"{base}/admin/rounds/{round_id}/integrity", f"{base}/admin/password-resets", f"{contest}/outreach",
            f"{contest}/notice"]


@pytest.mark.parametrize("size", ["phone", "desktop"])
async def test_axe_finds_no_critical_or_serious_violation_on_any_page(size, factory, app, client, live_server,
                                                                    chromium, axe):  # noqa: F811
    found: dict[str, list[str]] = {}
    context, page = await _new_page(chromium, size)
    try:
        for url in [f"{live_server}/", f"{live_server}/register", f"{live_server}/login"]:
            await page.goto(url)
            found[url + " (visitor)"] = await axe_violations(page, axe)
        urls, round_ = await _participant_pages(factory, live_server, page)
        for url in urls:
            await page.goto(url)
            found[url] = await axe_violations(page, axe)
        # Forms sent with mistakes: the error summary and the fields in error.
        await context.clear_cookies()
        await page.goto(f"{live_server}/register")
        await page.click("button[type=submit]:has-text('Đăng ký')")
        await page.wait_for_selector("#error-summary")
        found["register with errors"] = await axe_violations(page, axe)
        await page.goto(f"{live_server}/login")
        await page.fill("input[name=login]", "0900000000")
        await page.fill("input[name=password]", "sai-mat-khau-1")
        await page.click("button:has-text('Đăng nhập')")
        await page.wait_for_selector("#error-summary")
        found["login with error"] = await axe_violations(page, axe)

        admin = await make_staff(app, client, admin=True, name="Quản Trị Viên")
        await log_in(page, live_server, admin.phone, "/admin")
        for url in _console_urls(live_server, round_.contest_id, round_.id):
            await page.goto(url)
            found[url] = await axe_violations(page, axe)
    finally:
        await context.close()
    problems = {url: lines for url, lines in found.items() if lines}
    assert not problems, "\n".join(f"{url}:\n  " + "\n  ".join(lines) for url, lines in problems.items())
    assert len(found) >= 25, list(found)


async def test_every_page_reflows_at_200_percent_text_on_a_360_px_phone(factory, app, client, live_server,
                                                                        chromium):  # noqa: F811
    context, page = await _new_page(chromium, "phone")
    try:
        await set_text_size(page, 200)
        await page.goto(f"{live_server}/")
        assert await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") >= 33  # the text did grow
        wide: dict[str, int] = {}
        profile_ = profile(full_name="Nguyễn Thị Phương Thảo Hoàng Long Lanh")  # a long name in the top bar
        await page.goto(f"{live_server}/register")
        await fill_registration(page, profile_)
        await page.click("button[type=submit]:has-text('Đăng ký')")
        await page.wait_for_url(f"{live_server}/")
        logout = page.locator("button:has-text('Đăng xuất')")
        box = await logout.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 360, box  # "Đăng xuất" on screen
        name_box = await page.locator(".who").bounding_box()
        assert name_box["x"] + name_box["width"] <= 360
        assert await page.evaluate("(el) => el.scrollWidth <= el.clientWidth", await page.query_selector(".who"))
        urls, round_ = await _participant_pages(factory, live_server, page)
        for url in urls:
            await page.goto(url)
            wide[url] = await horizontal_overflow(page)
        admin = await make_staff(app, client, admin=True, name="Quản Trị Viên Có Tên Rất Dài Để Thử")
        await page.goto(f"{live_server}/")
        await page.click("button:has-text('Đăng xuất')")
        await log_in(page, live_server, admin.phone, "/admin")
        for url in _console_urls(live_server, round_.contest_id, round_.id):
            await page.goto(url)
            wide[url] = await horizontal_overflow(page)
    finally:
        await context.close()
    assert not {url: px for url, px in wide.items() if px > 0}, wide


async def test_the_countdown_is_a_timer_announced_at_5_min_1_min_and_30_s_only(factory, live_server, chromium):  # noqa: F811
    # The round closes in 6 minutes, so the attempt's deadline is that close; the page's clock is
    # driven forward by Playwright (the server's is not: the server keeps the deadline).
    round_ = await factory.round(questions_per_attempt=3, time_limit_seconds=900,
                                 close_at=utcnow() + timedelta(minutes=6))
    context, page = await _new_page(chromium, "phone")
    try:
        await page.clock.install()
        await register(page, live_server)
        await page.goto(f"{live_server}/contests/{round_.contest_id}")
        await page.click("button:has-text('Bắt đầu thi')")
        await page.wait_for_selector("#countdown")
        assert await page.get_attribute("[role=timer]", "aria-live") in (None, "off")  # not read every second
        assert await page.locator("[role=timer] #countdown").count() == 1
        await page.evaluate("""() => { window.__said = [];
            const el = document.getElementById('timer-announce');
            new MutationObserver(() => { if (el.textContent) window.__said.push(el.textContent); })
              .observe(el, {childList: true, characterData: true, subtree: true}); }""")
        assert await page.get_attribute("#timer-announce", "aria-live") == "polite"
        assert await page.is_hidden("#timer-urgent")
        for _ in range(9):  # 6 minutes, a few seconds at a time as a phone would live them
            await page.clock.run_for(40_000)
        said = await page.evaluate("window.__said")
        assert said[:3] == ["Còn 5 phút làm bài.", "Còn 1 phút. Hết giờ, bài được tự động nộp.",
                            "Còn 30 giây. Hết giờ, bài được tự động nộp."], said
        assert len(said) == 3, said  # never every second
    finally:
        await context.close()


async def test_the_urgent_timer_says_so_in_words_and_borders_keep_3_to_1(factory, live_server, chromium):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=3, close_at=utcnow() + timedelta(seconds=50))
    context, page = await _new_page(chromium, "phone")
    try:
        await register(page, live_server)
        await page.goto(f"{live_server}/contests/{round_.contest_id}")
        await page.click("button:has-text('Bắt đầu thi')")
        await page.wait_for_selector("#timer-bar.urgent")
        assert await page.is_visible("#timer-urgent")
        assert "Sắp hết giờ" in await page.inner_text("#timer-bar")
        ratios = await page.evaluate(CONTRAST_JS, ["#timer-bar", "label.option", "#prediction"])
        assert all(r >= 3 for r in ratios.values()), ratios
    finally:
        await context.close()


async def test_focus_is_visible_and_never_under_the_sticky_timer(factory, live_server, chromium):  # noqa: F811
    round_ = await factory.round(questions_per_attempt=10)
    context, page = await _new_page(chromium, "phone")
    try:
        await page.goto(f"{live_server}/")
        await page.keyboard.press("Tab")
        assert await page.evaluate("document.activeElement.className") == "skip-link"
        assert await page.is_visible(".skip-link")
        await page.keyboard.press("Enter")
        assert await page.evaluate("document.activeElement.id") == "main"
        await register(page, live_server)
        await page.goto(f"{live_server}/contests/{round_.contest_id}")
        await page.click("button:has-text('Bắt đầu thi')")
        await page.wait_for_selector("#countdown")
        await page.focus("#submit-button")
        hidden, unringed, seen = [], [], []
        for _ in range(40):  # backwards through the options, the way WCAG 2.4.11 is usually broken
            await page.keyboard.press("Shift+Tab")
            state = await page.evaluate("""() => {
                const el = document.activeElement, bar = document.getElementById('timer-bar').getBoundingClientRect();
                const box = (el.closest('label.option') || el).getBoundingClientRect();
                const ring = getComputedStyle(el.closest('label.option') || el);
                return {tag: el.tagName, name: el.name || el.textContent.trim().slice(0, 20), top: box.top, bar: bar.bottom,
                        ring: ring.outlineStyle !== 'none' && parseFloat(ring.outlineWidth) >= 2};
            }""")
            if state["tag"] == "BODY":  # past the skip link, the first stop of the page
                break
            seen.append(state)
            if state["tag"] == "INPUT" and state["top"] < state["bar"] - 1:
                hidden.append(state)
            if not state["ring"]:
                unringed.append(state)
        assert len(seen) >= 12, seen
        assert not hidden, hidden
        assert not unringed, unringed
    finally:
        await context.close()


async def test_register_reports_every_problem_at_once_and_moves_focus_to_the_summary(live_server, chromium):  # noqa: F811
    context, page = await _new_page(chromium, "phone")
    try:
        await page.goto(f"{live_server}/register")
        await page.fill("input[name=full_name]", "A")
        await page.fill("input[name=phone]", "12345")
        await page.fill("input[name=citizen_id]", "999")
        await page.fill("input[name=password]", "12345678")
        await page.fill("input[name=password2]", "87654321")
        await page.click("button[type=submit]:has-text('Đăng ký')")
        await page.wait_for_selector("#error-summary")
        assert await page.evaluate("document.activeElement.id") == "error-summary"
        invalid = await page.eval_on_selector_all(
            "[aria-invalid=true]", "els => els.map(e => [e.name, e.getAttribute('aria-describedby')])")
        names = {name for name, _ in invalid}
        # Every bad field in one answer, the unreadable date too (it used to hide the others).
        assert {"full_name", "date_of_birth", "gender", "phone", "citizen_id", "province", "commune",
                "password"} <= names, names
        for _name, described in invalid:
            assert described and await page.locator(f"#{described}").count() == 1
            assert await page.inner_text(f"#{described}")
        links = await page.eval_on_selector_all("#error-summary a", "els => els.map(e => e.getAttribute('href'))")
        assert len(links) >= 8
        assert f"có {len(links)} mục cần sửa" in await page.inner_text("#error-summary h2")
        await page.click("#error-summary a[href='#f-phone']")
        assert await page.evaluate("document.activeElement.name") == "phone"

        await page.goto(f"{live_server}/login")
        await page.fill("input[name=login]", "0900000000")
        await page.fill("input[name=password]", "sai-mat-khau-1")
        await page.click("button:has-text('Đăng nhập')")
        await page.wait_for_selector("#error-summary")
        assert await page.evaluate("document.activeElement.id") == "error-summary"
        for field in ("login", "password"):
            assert await page.get_attribute(f"#f-{field}", "aria-invalid") == "true"
            assert await page.get_attribute(f"#f-{field}", "aria-describedby") == "login-error"
    finally:
        await context.close()


# WCAG's contrast ratio between an element's border and what is behind it (its parent's background).
CONTRAST_JS = """(selectors) => {
  const lum = (c) => { const [r, g, b] = c.match(/[\\d.]+/g).slice(0, 3).map(Number).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const behind = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
      const bg = getComputedStyle(p).backgroundColor; if (bg && !bg.endsWith(', 0)') && bg !== 'transparent') return bg; }
    return 'rgb(255, 255, 255)'; };
  const out = {};
  for (const sel of selectors) { const el = document.querySelector(sel);
    const a = lum(getComputedStyle(el).borderTopColor), b = lum(behind(el));
    out[sel] = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); }
  return out;
}"""
