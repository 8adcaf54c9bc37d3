"""The contest page in parts (app/contests/pages.py): what every visitor sees alike (the preview,
heading, round cards, rules) is rendered once per contest and round status and shared, while each
person's progress and start button are their own and current right after they open or submit an
attempt, and the forms carry their own session's CSRF token. On PostgreSQL the progress is read
without an ORM session (app/contests/progress.py)."""
from __future__ import annotations

import re

import pytest
from contextlib import asynccontextmanager

from app.contests import pages
from app.core.sessions import SESSION_COOKIE
from tests.contests.test_public_cache import Ticks


@asynccontextmanager
async def public_cache_on(app, monkeypatch):
    """The suite runs with the public list uncached; here it is kept, as in production."""
    cache = app.state.runtime.caches.public_contests
    monkeypatch.setattr(cache, "ttl", 3600)
    monkeypatch.setattr(cache, "clock", Ticks())
    cache.clear()
    yield cache
    cache.clear()


def section(html: str, round_id: int) -> str:
    part = html[html.index(f'id="round-{round_id}"'):]
    return part[:part.index("</section>")]


def form_tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]+)"', html))


async def test_shared_parts_are_rendered_once_and_each_person_sees_only_their_own_progress(
    factory, client, app, monkeypatch
):
    round_ = await factory.round(questions_per_attempt=3, attempts_allowed=2, name="Tuần chung")
    an, binh = await factory.participant(), await factory.participant()
    renders = []
    real = pages._contest_parts
    monkeypatch.setattr(pages, "_contest_parts", lambda *a: renders.append(a) or real(*a))
    url = f"/contests/{round_.contest_id}"
    async with public_cache_on(app, monkeypatch):
        opened = (await an.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
        an_page = await an.call("GET", url)
        binh_page = await binh.call("GET", url)
        anonymous = await client.get(url)
        assert an_page.status_code == binh_page.status_code == anonymous.status_code == 200
        assert len(renders) == 1  # one rendering of the shared parts for all three

        mine, theirs = section(an_page.text, round_.id), section(binh_page.text, round_.id)
        assert "Bạn đã thi 1/2 lượt." in mine and f'href="/attempts/{opened["attempt_id"]}"' in mine
        assert "Bạn đã thi 0/2 lượt." in theirs and "Bắt đầu thi" in theirs
        assert f'/attempts/{opened["attempt_id"]}' not in binh_page.text
        public = section(anonymous.text, round_.id)
        assert "Bạn đã thi" not in public and "Đăng nhập để thi" in public and "csrf_token" not in public
        for html in (an_page.text, binh_page.text, anonymous.text):
            assert "Tuần chung" in html and "Thể lệ thử." in html and 'rel="canonical"' in html
            assert "\x00" not in html


async def test_attempts_left_are_right_at_once_after_opening_and_submitting(factory, app, monkeypatch):
    round_ = await factory.round(questions_per_attempt=3, attempts_allowed=2)
    person = await factory.participant()
    url = f"/contests/{round_.contest_id}"
    async with public_cache_on(app, monkeypatch):
        assert "Bạn đã thi 0/2 lượt." in section((await person.call("GET", url)).text, round_.id)
        for used in (1, 2):
            attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
            running = section((await person.call("GET", url)).text, round_.id)
            assert f"Bạn đã thi {used}/2 lượt." in running and "Tiếp tục làm bài" in running
            done = await person.call("POST", f"/api/v1/attempts/{attempt['attempt_id']}/submit", json={"prediction": 3})
            assert done.status_code == 200
            after = section((await person.call("GET", url)).text, round_.id)
            assert f"Bạn đã thi {used}/2 lượt." in after and "Kết quả tốt nhất: <strong>0/3</strong>" in after
            assert "Tiếp tục làm bài" not in after
            assert ("Bắt đầu thi" in after) == (used < 2)
        assert "Bạn đã dùng hết lượt thi của đợt này." in after


async def test_each_session_gets_its_own_csrf_token_in_the_start_form(factory, client, app, monkeypatch):
    round_ = await factory.round()
    an, binh = await factory.participant(), await factory.participant()
    url = f"/contests/{round_.contest_id}"
    async with public_cache_on(app, monkeypatch):
        tokens = []
        for person in (an, binh):
            html = (await client.get(url, cookies={SESSION_COOKIE: person.token})).text
            client.cookies.clear()
            meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
            assert form_tokens(section(html, round_.id)) == {meta}  # the start form's is the session's
            tokens.append(meta)
        assert tokens[0] != tokens[1]


async def test_the_page_opens_no_orm_session_on_postgresql(factory, client, app, monkeypatch, is_postgres):
    """A fresh public list and, on PostgreSQL, the progress read straight on the driver: no ORM
    session per view (it cost the page more than the query). Embedded, the progress is read in
    one session; a visitor not logged in never opens one."""
    round_ = await factory.round()
    person = await factory.participant()
    url = f"/contests/{round_.contest_id}"
    runtime = app.state.runtime
    opened = []
    real = runtime.sessionmaker
    monkeypatch.setattr(runtime, "sessionmaker", lambda *a, **kw: opened.append(1) or real(*a, **kw))
    async with public_cache_on(app, monkeypatch):
        await client.get(url)  # the list read (a session of its own, once)
        opened.clear()
        assert (await client.get(url)).status_code == 200
        assert opened == []
        page = await person.call("GET", url)
        assert "Bạn đã thi 0/2 lượt." in page.text
        assert len(opened) == (0 if is_postgres else 1)


async def test_a_dead_pooled_connection_does_not_fail_the_page(factory, app, settings, db, is_postgres):
    """The progress read on a connection the server dropped (a restart): discarded, and the page
    reads again on a fresh one."""
    if not is_postgres:
        pytest.skip("pooled server connections exist on PostgreSQL only")
    import httpx
    from sqlalchemy import text

    from app.main import create_app

    round_ = await factory.round(questions_per_attempt=3)
    person = await factory.participant()
    await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")
    # A second app process configured as `make bench` runs production: no ping on pool checkout,
    # the public list kept (read once, before the connection is dropped).
    other = create_app(settings.model_copy(update={"db_pool_pre_ping": False, "public_pages_cache_seconds": 3600}))
    url = f"/contests/{round_.contest_id}"
    async with other.router.lifespan_context(other):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=other), base_url="http://t") as client:
            first = await client.get(url, headers=person.headers)
            assert "Bạn đã thi 1/2 lượt." in first.text
            async with other.state.runtime.engine.connect() as conn:  # the one pooled connection
                backend = await conn.scalar(text("SELECT pg_backend_pid()"))
            await db.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})  # as a restart would
            await db.rollback()
            again = await client.get(url, headers=person.headers)
            assert again.status_code == 200 and "Bạn đã thi 1/2 lượt." in again.text
            assert "Bạn đã thi 1/2 lượt." in (await client.get(url, headers=person.headers)).text


async def test_the_shared_preview_follows_the_address_the_page_was_asked_at(factory, client, app, monkeypatch):
    """The link preview is shared per public address: asked at two hosts (PUBLIC_BASE_URL unset),
    each page names its own."""
    round_ = await factory.round()
    url = f"/contests/{round_.contest_id}"
    async with public_cache_on(app, monkeypatch):
        for host in ("thi.example.vn", "cuocthi.example.vn", "thi.example.vn"):
            html = (await client.get(url, headers={"host": host})).text
            assert f'<link rel="canonical" href="http://{host}{url}">' in html
        monkeypatch.setattr(app.state.runtime.settings, "public_base_url", "https://thi.gov.vn")
        html = (await client.get(url, headers={"host": "thi.example.vn"})).text
        assert f'<link rel="canonical" href="https://thi.gov.vn{url}">' in html
