"""Web security: CSRF on every cookie-authenticated write, headers (CSP without inline scripts,
framing, referrer, HSTS over TLS), session rotation, no user enumeration, escaping."""
from __future__ import annotations

import re
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import update

from app.accounts.models import User
from app.core.sessions import SESSION_COOKIE
from tests.attempts.helpers import correct_option
from tests.factories import profile
from tests.routes import walk_routes

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# JSON login and register start a session rather than act on one; a cross-site page cannot send
# them JSON (see test_login_and_register_cannot_be_forged_with_a_cross_site_form).
NOT_SESSION_WRITES = {"/api/v1/auth/login", "/api/v1/auth/register"}


@pytest.fixture
async def logged_in(app):
    """A browser-like client: session cookie and CSRF cookie, as after logging in on a page."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        r = await c.post("/api/v1/auth/register", json=profile())
        assert r.status_code == 201 and SESSION_COOKIE in c.cookies and "csrftoken" in c.cookies
        # An admin, so that on staff forms it is the missing token, not the role, that refuses.
        async with app.state.runtime.sessionmaker() as db:
            await db.execute(update(User).where(User.id == r.json()["user"]["id"]).values(role="admin"))
            await db.commit()
        yield c


def all_routes(routes):
    """(methods, full path) of every endpoint, also inside included routers."""
    return ((route.methods, path) for path, route in walk_routes(routes) if getattr(route, "methods", None))


def write_routes(app) -> list[tuple[str, str]]:
    return [(method, path) for methods, path in all_routes(app.routes) if path not in NOT_SESSION_WRITES
            for method in sorted(methods & WRITE_METHODS)]


async def test_every_cookie_authenticated_write_requires_the_csrf_token(app, logged_in):
    routes = write_routes(app)
    assert len(routes) >= 8  # the API's and the pages' forms
    refused = []
    for method, path in routes:
        url = re.sub(r"\{[^}]+\}", "1", path)
        json_body = None if method == "DELETE" else {}
        r = await logged_in.request(method, url, json=json_body) if path.startswith("/api/") else \
            await logged_in.request(method, url, data={"x": "1"})
        refused.append((method, path, r.status_code))
        assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
        assert "tải lại trang" in r.text
    # With the token (header for the API), the same session is accepted: it was the token that mattered.
    token = logged_in.cookies["csrftoken"]
    r = await logged_in.post("/api/v1/auth/logout", headers={"X-CSRF-Token": token})
    assert r.status_code == 204


async def test_a_token_from_another_session_is_refused(app, logged_in):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as other:
        await other.post("/api/v1/auth/register", json=profile())
        foreign = other.cookies["csrftoken"]
    r = await logged_in.post("/api/v1/auth/logout", headers={"X-CSRF-Token": foreign})
    assert r.status_code == 403


async def test_login_and_register_cannot_be_forged_with_a_cross_site_form(client, factory):
    participant = await factory.participant()
    # <form enctype="text/plain"> is the only way another site can post JSON-looking text without
    # a CORS preflight: it is not parsed as JSON, so nothing logs in and no cookie is set.
    body = '{"login": "%s", "password": "mat-khau-an-toan", "x": "="}' % participant.user["phone"]
    r = await client.post("/api/v1/auth/login", content=body, headers={"content-type": "text/plain"})
    assert r.status_code == 422 and SESSION_COOKIE not in r.cookies
    r = await client.post("/api/v1/auth/register", content="{}", headers={"content-type": "text/plain"})
    assert r.status_code == 422


async def test_security_headers_over_http_and_https(app):
    for base, hsts in (("http://testserver", False), ("https://testserver", True)):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as c:
            for url in ("/", "/login", "/api/v1/contests", "/khong-co"):
                r = await c.get(url)
                csp = r.headers["content-security-policy"]
                directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
                assert directives["script-src"] == "'self'" and "unsafe-inline" not in csp and "unsafe-eval" not in csp
                assert directives["frame-ancestors"] == "'none'" and r.headers["x-frame-options"] == "DENY"
                assert directives["object-src"] == "'none'" and directives["base-uri"] == "'self'"
                assert r.headers["referrer-policy"] in ("same-origin", "strict-origin-when-cross-origin", "no-referrer")
                assert r.headers["x-content-type-options"] == "nosniff"
                assert ("strict-transport-security" in r.headers) is hsts
                if hsts:
                    assert int(re.search(r"max-age=(\d+)", r.headers["strict-transport-security"]).group(1)) >= 15552000
                assert re.fullmatch(r"[A-Za-z0-9._-]{1,64}", r.headers["x-request-id"])


class _ScriptAudit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []
        self._in_inline_script = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and not attrs.get("src"):
            self._in_inline_script = True
        for name, value in attrs.items():
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")

    def handle_data(self, data):
        if self._in_inline_script and data.strip():
            self.problems.append("inline <script>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_inline_script = False


async def test_no_page_relies_on_inline_script(factory, app):
    """The CSP forbids inline scripts, so a page that had one would silently break: every page
    must keep its script in /static files, and no on*= handler or javascript: URL."""
    round_ = await factory.round(questions_per_attempt=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        await c.post("/api/v1/auth/register", json=profile())
        token = c.cookies["csrftoken"]
        started = await c.post(f"/rounds/{round_.id}/start", data={"csrf_token": token})
        attempt_url = started.headers["location"]
        pages = ["/", "/login", "/register", f"/contests/{round_.contest_id}", attempt_url,
                 f"/rounds/{round_.id}/leaderboard", "/docs", "/khong-co-trang-nay", attempt_url + "/result"]
        for url in pages:
            if url.endswith("/result"):
                await c.post(attempt_url, data={"csrf_token": token, "action": "submit", "prediction": "1"})
            r = await c.get(url)
            assert r.status_code in (200, 404), (url, r.status_code)
            audit = _ScriptAudit()
            audit.feed(r.text)
            assert audit.problems == [], (url, audit.problems)


async def test_session_id_rotates_on_login_and_a_planted_one_is_useless(app, factory):
    participant = await factory.participant()
    credentials = {"login": participant.user["phone"], "password": "mat-khau-an-toan"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        c.cookies.set(SESSION_COOKIE, "planted-by-an-attacker")  # session fixation attempt
        c.cookies.set("csrftoken", "planted-token")
        first = await c.post("/api/v1/auth/login", json=credentials)
        sid1, csrf1 = first.cookies[SESSION_COOKIE], first.cookies["csrftoken"]
        assert first.status_code == 200 and sid1 != "planted-by-an-attacker" and csrf1 != "planted-token"
        second = await c.post("/api/v1/auth/login", json=credentials)
        sid2 = second.cookies[SESSION_COOKIE]
        assert sid2 != sid1
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as stale:
        stale.cookies.set(SESSION_COOKIE, sid1)  # the session before the second login is gone
        assert (await stale.get("/api/v1/me")).status_code == 401
        stale.cookies.clear()
        stale.cookies.set(SESSION_COOKIE, sid2)
        assert (await stale.get("/api/v1/me")).status_code == 200


async def test_login_does_not_reveal_which_accounts_exist(client, factory):
    participant = await factory.participant()
    wrong = await client.post("/api/v1/auth/login", json={"login": participant.user["phone"], "password": "sai-mat-khau"})
    unknown = await client.post("/api/v1/auth/login", json={"login": "0399999998", "password": "sai-mat-khau"})
    garbage = await client.post("/api/v1/auth/login", json={"login": "không phải số", "password": "x"})
    assert wrong.status_code == unknown.status_code == garbage.status_code == 401
    assert wrong.json() == unknown.json() == garbage.json()
    # Registration must tell a citizen that their CCCD is taken (README: what limits probing it).
    taken_cccd = await client.post("/api/v1/auth/register", json=profile(citizen_id=participant.user["citizen_id"]))
    assert taken_cccd.status_code == 409 and "citizen_id" in taken_cccd.json()["error"]["details"]["fields"]


async def test_participant_typed_text_is_escaped_on_every_page_that_shows_it(app, factory):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    round_ = await factory.round(questions_per_attempt=2)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        r = await c.post("/api/v1/auth/register", json=profile(unit=hostile, commune=hostile))
        assert r.status_code == 201, r.text
        headers = {"X-CSRF-Token": c.cookies["csrftoken"]}
        attempt = (await c.post(f"/api/v1/rounds/{round_.id}/attempts", headers=headers)).json()
        for q in attempt["questions"]:
            await c.put(f"/api/v1/attempts/{attempt['attempt_id']}/answers/{q['id']}",
                        json={"option_id": correct_option(q)}, headers=headers)
        await c.post(f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 1}, headers=headers)
        for url in (f"/rounds/{round_.id}/leaderboard", f"/rounds/{round_.id}/leaderboard?unit=" + hostile):
            html = (await c.get(url)).text
            assert "<script>alert" not in html and "<img src=x" not in html
            assert "&lt;script&gt;alert(" in html
        # The JSON carries the text as data (the page script writes it with textContent).
        board = (await c.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
        assert board["rows"][0]["unit"] == hostile


async def test_a_hostile_csrf_header_is_refused_not_crashed(logged_in):
    for value in ("é" * 10, "\x00", "a" * 5000):
        r = await logged_in.post("/api/v1/auth/logout", headers={"X-CSRF-Token": value.encode("latin-1")})
        assert r.status_code == 403


async def test_a_planted_csrf_cookie_with_a_matching_header_is_refused(logged_in):
    """Issue 13 item 10: the token is bound to the session; a csrftoken cookie of the attacker's
    choosing (planted from a sibling subdomain or over plain HTTP) plus the same value in the
    header must not pass, whatever the session cookie."""
    real = logged_in.cookies["csrftoken"]
    logged_in.cookies.set("csrftoken", "chosen-by-an-attacker")
    r = await logged_in.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "chosen-by-an-attacker"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "csrf_failed"
    r = await logged_in.post("/logout", data={"csrf_token": "chosen-by-an-attacker"})
    assert r.status_code == 403
    # The session's own token works even with the planted cookie still there: only the session counts.
    r = await logged_in.post("/api/v1/auth/logout", headers={"X-CSRF-Token": real})
    assert r.status_code == 204


async def test_the_csrf_token_rotates_on_login_and_on_logout(app, factory):
    participant = await factory.participant()
    credentials = {"login": participant.user["phone"], "password": "mat-khau-an-toan"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        await c.get("/login")
        anonymous = c.cookies["csrftoken"]
        logged = await c.post("/login", data={**credentials, "csrf_token": anonymous})
        assert logged.status_code == 303
        first = c.cookies["csrftoken"]
        assert first != anonymous
        # The pre-session token no longer authorizes anything once a session exists.
        assert (await c.post("/logout", data={"csrf_token": anonymous})).status_code == 403
        assert (await c.post("/logout", data={"csrf_token": first})).status_code == 303
        after_logout = c.cookies["csrftoken"]
        assert after_logout not in (first, anonymous)
        again = await c.post("/login", data={**credentials, "csrf_token": after_logout})
        assert again.status_code == 303 and c.cookies["csrftoken"] not in (first, after_logout)
        assert (await c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": first})).status_code == 403


async def test_the_csrf_cookie_takes_the_host_prefix_when_cookies_are_secure(app, factory, monkeypatch):
    monkeypatch.setattr(app.state.runtime.settings, "cookie_secure", True)
    participant = await factory.participant()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver") as c:
        page = await c.get("/login")
        [cookie] = [h for h in page.headers.get_list("set-cookie") if h.startswith("__Host-csrftoken=")]
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert "secure" in attributes and "path" in attributes and "domain" not in attributes
        assert "csrftoken" not in c.cookies.keys() - {"__Host-csrftoken"}
        token = c.cookies["__Host-csrftoken"]
        form = {"login": participant.user["phone"], "password": "mat-khau-an-toan", "csrf_token": token}
        logged = await c.post("/login", data=form)
        assert logged.status_code == 303, logged.text
        assert c.cookies["__Host-csrftoken"] != token
        me = await c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": c.cookies["__Host-csrftoken"]})
        assert me.status_code == 204
