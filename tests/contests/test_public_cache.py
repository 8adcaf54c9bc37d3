"""The short per-process cache of the published contests (app/contests/public.py): the home and
contest pages read the contests at most once per `ttl`, yet which round is open is worked out at
every view, so a round's start button appears at its minute, not `ttl` later. The suite runs with
the cache off (tests create contests and look at once); here it is on, with a clock of our own."""
from __future__ import annotations

from datetime import timedelta

from app.contests import public as public_module
from app.contests.public import PublicContests
from app.core.clock import utcnow


class Ticks:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_pages_reuse_the_list_for_a_moment_but_a_round_opens_on_time(factory, client, app, monkeypatch):
    ticks = Ticks()
    cache = app.state.runtime.caches.public_contests  # the app's own, as its sessions find it
    assert isinstance(cache, PublicContests)
    monkeypatch.setattr(cache, "ttl", 2)
    monkeypatch.setattr(cache, "clock", ticks)
    cache.clear()
    soon = utcnow() + timedelta(minutes=5)
    round_ = await factory.round(open_at=soon, name="Tuần mở lúc 7 giờ 30")
    contest = round_.contest_id
    home = await client.get("/")
    page = await client.get(f"/contests/{contest}")
    assert home.status_code == page.status_code == 200
    assert "Tuần mở lúc 7 giờ 30" in page.text
    listed = (await client.get("/api/v1/contests")).json()
    assert next(c for c in listed if c["id"] == contest)["open_round_id"] is None

    # A contest published meanwhile shows only after the cache's moment...
    newer = await factory.round(name="Cuộc thi mới công bố")
    assert newer.contest_id not in [c["id"] for c in (await client.get("/api/v1/contests")).json()]
    # ...but the clock moving past the round's opening is seen at once, from the cached times.
    monkeypatch.setattr(public_module, "utcnow", lambda: soon + timedelta(seconds=1))
    listed = (await client.get("/api/v1/contests")).json()
    assert next(c for c in listed if c["id"] == contest)["open_round_id"] == round_.id
    contest_api = (await client.get(f"/api/v1/contests/{contest}")).json()
    assert [r["status"] for r in contest_api["rounds"]] == ["open"]

    ticks.now += 2
    listed = (await client.get("/api/v1/contests")).json()
    assert newer.contest_id in [c["id"] for c in listed]
    assert (await client.get("/api/v1/contests/999999")).status_code == 404


async def test_the_contest_page_shows_each_rounds_own_progress(factory):
    """All rounds' progress comes from one query now: each round still shows only its own."""
    first = await factory.round(questions_per_attempt=3, name="Tuần 1")
    second = await factory.round(contest=await _contest_of(factory, first), questions_per_attempt=3, name="Tuần 2")
    third = await factory.round(contest=await _contest_of(factory, first), questions_per_attempt=3, name="Tuần 3")
    person = await factory.participant()
    done = (await person.call("POST", f"/api/v1/rounds/{first.id}/attempts")).json()
    submitted = await person.call("POST", f"/api/v1/attempts/{done['attempt_id']}/submit", json={"prediction": 1})
    assert submitted.status_code == 200
    running = (await person.call("POST", f"/api/v1/rounds/{second.id}/attempts")).json()
    page = (await person.call("GET", f"/contests/{first.contest_id}")).text
    sections = {r.id: page[page.index(f'id="round-{r.id}"'):] for r in (first, second, third)}
    for r in (first, second, third):
        sections[r.id] = sections[r.id][:sections[r.id].index("</section>")]
    assert "Bạn đã thi 1/2 lượt." in sections[first.id] and "Kết quả tốt nhất: <strong>0/3</strong>" in sections[first.id]
    assert "Tiếp tục làm bài" not in sections[first.id]
    assert "Bạn đã thi 1/2 lượt." in sections[second.id] and "Kết quả tốt nhất" not in sections[second.id]
    assert f'href="/attempts/{running["attempt_id"]}"' in sections[second.id]
    assert "Bạn đã thi 0/2 lượt." in sections[third.id] and "Bắt đầu thi" in sections[third.id]


async def _contest_of(factory, round_):
    from app.contests.models import Contest

    async with factory.app.state.runtime.sessionmaker() as db:
        return await db.get(Contest, round_.contest_id)
