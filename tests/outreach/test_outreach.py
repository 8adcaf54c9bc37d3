"""Spreading a contest (issue 19): link previews, QR codes and the A4 notice, invitation links
counted per unit or commune, and a participant's shared result."""
from __future__ import annotations

import re
from html import unescape
from io import BytesIO

import httpx
import pytest
from openpyxl import load_workbook

from app.contests.models import Contest, ContestBanner
from app.outreach.models import Invitation
from tests.admin.helpers import make_staff, take_attempt
from tests.factories import profile
from tests.web.test_pages_without_javascript import csrf_of

FORM = {"cookies": {"csrftoken": "t"}}


def meta(html: str) -> dict[str, str]:
    """Open Graph / description meta tags and the canonical link of a page."""
    found = {m.group(1): unescape(m.group(2)) for m in re.finditer(
        r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', html)}
    canonical = re.search(r'<link rel="canonical" href="([^"]+)"', html)
    if canonical:
        found["canonical"] = canonical.group(1)
    return found


@pytest.fixture
async def browser(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def public_base(app):
    settings = app.state.runtime.settings
    before = settings.public_base_url
    settings.public_base_url = "https://thi.tinh.gov.vn"
    yield settings.public_base_url
    settings.public_base_url = before


# --- 7. link previews ----------------------------------------------------------------------------


async def test_contest_and_round_pages_carry_a_link_preview(factory, app, client, public_base):
    contest = await factory.contest(questions=5, description="Tìm hiểu Nghị quyết Đại hội XIV của Đảng.")
    round_ = await factory.round(contest)
    tags = meta((await client.get(f"/contests/{contest.id}")).text)
    assert tags["og:title"] == contest.title
    assert tags["og:description"].startswith("Tìm hiểu Nghị quyết Đại hội XIV")
    assert tags["og:url"] == tags["canonical"] == f"{public_base}/contests/{contest.id}"
    assert tags["og:image"] == f"{public_base}/contests/{contest.id}/preview-image"
    assert tags["og:locale"] == "vi_VN" and tags["twitter:card"] == "summary_large_image"
    # No banner yet: the site's own card; with one: the contest's banner.
    image = await client.get(f"/contests/{contest.id}/preview-image")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    banner = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (1200).to_bytes(4, "big") + (630).to_bytes(4, "big") + b"\x08\x02"
    async with app.state.runtime.sessionmaker() as db:
        db.add(ContestBanner(contest_id=contest.id, content_type="image/png", data=banner, width=1200, height=630,
                             sha256="b" * 64))
        await db.commit()
    assert (await client.get(f"/contests/{contest.id}/preview-image")).content == banner

    board = meta((await client.get(f"/rounds/{round_.id}/leaderboard")).text)
    assert board["og:title"] == f"Bảng xếp hạng — {round_.name}"
    assert board["og:url"] == f"{public_base}/rounds/{round_.id}/leaderboard"
    assert board["og:image"] == f"{public_base}/contests/{contest.id}/preview-image"
    # The short address on posters leads to the contest page.
    short = await client.get(f"/c/{contest.id}")
    assert short.status_code == 302 and short.headers["location"] == f"/contests/{contest.id}"


# --- 8. QR codes and the printable notice --------------------------------------------------------


async def test_organizers_get_the_contests_qr_code_and_a_printable_notice(factory, app, client, public_base):
    contest = await factory.contest(questions=5, organizer_name="Ban Tuyên giáo Tỉnh ủy")
    async with app.state.runtime.sessionmaker() as db:
        (await db.get(Contest, contest.id)).rules_text = "Mỗi người thi tối đa 2 lượt.\nKết quả tính lượt cao nhất."
        await db.commit()
    await factory.round(contest, name="Tuần 1")
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    svg = await organizer.call("GET", f"/admin/contests/{contest.id}/qr.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content and b"<path" in svg.content
    png = await organizer.call("GET", f"/admin/contests/{contest.id}/qr.png?download=1")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert png.headers["content-disposition"].startswith("attachment")
    notice = await organizer.call("GET", f"/admin/contests/{contest.id}/notice")
    assert notice.status_code == 200
    text = notice.text
    for expected in (contest.title, "Ban Tuyên giáo Tỉnh ủy", "Tuần 1", "Mỗi người thi tối đa 2 lượt.",
                     f"thi.tinh.gov.vn/c/{contest.id}", 'role="img"', "/static/notice.css"):
        assert expected in text, expected
    tab = await organizer.call("GET", f"/admin/contests/{contest.id}/outreach")
    assert tab.status_code == 200 and f"{public_base}/c/{contest.id}" in tab.text and 'aria-current="page"' in tab.text

    # Someone else's contest, or a participant: refused.
    other = await make_staff(app, client, roles={(await factory.contest(questions=0)).id: "organizer"})
    assert (await other.call("GET", f"/admin/contests/{contest.id}/qr.png")).status_code == 403
    citizen = await factory.participant()
    assert (await citizen.call("GET", f"/admin/contests/{contest.id}/notice")).status_code == 403


# --- 9. invitation links -------------------------------------------------------------------------


async def test_invitation_links_prefill_registration_and_count_per_unit(factory, app, client, browser, public_base):
    contest = await factory.contest(questions=10)
    round_ = await factory.round(contest, questions_per_attempt=3)
    organizer = await make_staff(app, client, roles={contest.id: "organizer"})
    url = f"/admin/contests/{contest.id}/invitations"
    refused = await organizer.call("POST", url, data={"csrf_token": "t", "kind": "commune", "province": "Sao Hỏa"}, **FORM)
    assert refused.status_code == 422
    assert "Chọn tỉnh/thành phố của xã/phường." in refused.text and "Nhập tên xã/phường/đặc khu." in refused.text
    made = await organizer.call("POST", url, data={"csrf_token": "t", "kind": "unit", "unit": "Trường THPT Chu Văn An",
                                                   "province": "Hà Nội"}, **FORM)
    assert made.status_code == 303
    await organizer.call("POST", url, data={"csrf_token": "t", "kind": "commune", "province": "Hà Nội",
                                            "commune": "Phường Ba Đình"}, **FORM)
    async with app.state.runtime.sessionmaker() as db:
        from sqlalchemy import select

        invitations = {i.kind: i for i in (await db.scalars(select(Invitation).where(
            Invitation.contest_id == contest.id))).all()}
    school, ward = invitations["unit"], invitations["commune"]
    assert re.fullmatch(r"[a-z2-9]{7}", school.code)

    # The link shows the registration form with the unit filled in, and says whose link it is.
    page = await browser.get(f"/i/{school.code}")
    assert page.status_code == 200
    assert 'value="Trường THPT Chu Văn An"' in page.text and "Trường THPT Chu Văn An</strong>" in page.text
    assert re.search(r'<option selected>Hà Nội</option>', page.text)
    assert f'action="/register?next=/contests/{contest.id}"' in page.text
    # Two people register through the school's link (one changes nothing, one fixes a mistake first).
    registered = []
    for n in range(2):
        person = profile()
        form = {k: ("" if v is None else str(v)) for k, v in person.items() if k not in ("party_member", "unit")}
        form.update(unit="Trường THPT Chu Văn An", invite=school.code, password2=person["password"],
                    csrf_token=csrf_of(page.text))
        if n == 1:
            bad = await browser.post("/register", data={**form, "password2": "khac-han"})
            assert bad.status_code == 422 and f'name="invite" value="{school.code}"' in bad.text  # kept
        done = await browser.post(f"/register?next=/contests/{contest.id}", data=form)
        assert done.status_code == 303 and done.headers["location"] == f"/contests/{contest.id}"
        registered.append(person)
        browser.cookies.clear()
        page = await browser.get(f"/i/{school.code}")
    # One through the ward's link, one with a made-up code (registered, counted for nobody), one without.
    for code in (ward.code, "zzzzzzz", None):
        person = profile()
        form = {k: ("" if v is None else str(v)) for k, v in person.items() if k != "party_member"}
        form.update(password2=person["password"], csrf_token=csrf_of(page.text), **({"invite": code} if code else {}))
        assert (await browser.post("/register", data=form)).status_code == 303
        browser.cookies.clear()
        page = await browser.get("/register")
    assert (await browser.get("/i/khongco1")).status_code == 404

    # The first school registrant takes the round: the dashboard and the export show the race.
    login = await client.post("/api/v1/auth/login", json={"login": registered[0]["phone"],
                                                           "password": registered[0]["password"]})
    client.cookies.clear()

    class Person:
        token = login.json()["token"]

        async def call(self, method, url, **kwargs):
            return await client.request(method, url, headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    await take_attempt(Person(), round_.id, right=2)
    counts = {i["label"]: (i["registrations"], i["participants"]) for i in await _counts(app, contest.id, round_.id)}
    assert counts == {"Trường THPT Chu Văn An": (2, 1), "Phường Ba Đình, Hà Nội": (1, 0)}
    live = await organizer.call("GET", f"/admin/rounds/{round_.id}/dashboard/live")
    race = live.text[live.text.index('id="invitation-race"'):]
    assert race.index("Trường THPT Chu Văn An") < race.index("Phường Ba Đình, Hà Nội")
    assert re.search(r"Chu Văn An</td><td class=\"count\">2</td><td class=\"count\">1</td>", race)
    tab = await organizer.call("GET", f"/admin/contests/{contest.id}/outreach")
    assert f"{public_base}/i/{school.code}" in tab.text

    job = await organizer.call("POST", f"/api/v1/admin/rounds/{round_.id}/exports/participation")
    assert job.status_code == 202, job.text
    book = load_workbook(BytesIO(await _download(organizer, job.json())), read_only=True)
    sheet = book["Theo đường dẫn mời"]
    rows = [r for r in sheet.iter_rows(values_only=True) if r and r[0] in counts]
    assert [(r[0], r[3], r[4]) for r in rows] == [("Trường THPT Chu Văn An", 2, 1), ("Phường Ba Đình, Hà Nội", 1, 0)]


async def _counts(app, contest_id: int, round_id: int):
    from app.outreach.service import invitation_counts

    async with app.state.runtime.sessionmaker() as db:
        return await invitation_counts(db, contest_id, round_id)


async def _download(staff, job: dict) -> bytes:
    import asyncio

    job_id = job["job_id"]
    for _ in range(200):
        status = (await staff.call("GET", f"/api/v1/admin/exports/{job_id}")).json()
        if status.get("status") == "done":
            break
        await asyncio.sleep(0.1)
    response = await staff.call("GET", f"/api/v1/admin/exports/{job_id}/file")
    assert response.status_code == 200, response.text
    return response.content


# --- 10. shared results --------------------------------------------------------------------------


async def test_a_shared_result_shows_only_what_the_public_board_shows(factory, app, client, browser, public_base):
    round_ = await factory.round(questions_per_attempt=4)
    person = await factory.participant(full_name="Nguyễn Thị Minh Khai")
    result = await take_attempt(person, round_.id, right=3)
    attempt_id = result["attempt_id"]
    login = await browser.post("/api/v1/auth/login", json={"login": person.user["phone"], "password": profile()["password"]})
    assert login.status_code == 200
    page = (await browser.get(f"/attempts/{attempt_id}/result")).text
    link = unescape(re.search(r'id="share-url" value="([^"]+)"', page).group(1))
    assert link.startswith(f"{public_base}/s/{attempt_id}-")

    stranger = await client.get(link.removeprefix(public_base))  # anyone, logged in or not
    assert stranger.status_code == 200
    html = stranger.text
    assert "Nguyễn T. M. K." in html and "3/4" in html and round_.name in html
    for private in ("Nguyễn Thị Minh Khai", person.user["phone"], "19/05/1990", "1990-05-19", "Sở Giáo dục"):
        assert private not in html, private
    tags = meta(html)
    assert tags["og:title"] == f"Nguyễn T. M. K. đạt 3/4 câu đúng — {round_.name}"
    assert tags["og:url"] == link and tags["og:image"].endswith(f"/contests/{round_.contest_id}/preview-image")
    # Links cannot be made by counting, nor for an attempt still in progress.
    assert (await client.get(f"/s/{attempt_id + 1}-{link.split('-', 1)[1]}")).status_code == 404
    assert (await client.get(f"/s/{attempt_id}-AAAAAAAAAAAAAAAA")).status_code == 404
    open_attempt = (await person.call("POST", f"/api/v1/rounds/{round_.id}/attempts")).json()
    from app.outreach.service import share_token

    token = share_token(app.state.runtime.settings.effective_secret_key, open_attempt["attempt_id"])
    assert (await client.get(f"/s/{token}")).status_code == 404
