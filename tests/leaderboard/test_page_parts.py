"""The board page in parts (app/leaderboard/pages.py, fragments.py): the content every viewer sees
alike is rendered once per shared part and reused, the rows around a viewer's own once per
content; each viewer's standing, their row's highlight, whether they are logged in and the
staff's form (with their own session's CSRF token) are theirs alone."""
from __future__ import annotations

import re

from app.leaderboard import pages
from app.core.sessions import SESSION_COOKIE
from tests.leaderboard.conftest import make_staff
from tests.leaderboard.journey import take_attempt
from tests.leaderboard.test_shared_page import shared_for


class Counting:
    """The page's macros, counting the renders of the shared content."""

    def __init__(self, parts):
        self.parts = parts
        self.bodies = 0

    def __getattr__(self, name):
        return getattr(self.parts, name)

    def body(self, *args):
        self.bodies += 1
        return self.parts.body(*args)


def standing(html: str) -> str:
    part = html[html.index('id="my-standing"'):]
    return part[:part.index("</section>")]


def top(html: str) -> str:
    part = html[html.index('id="lb-rows"'):]
    return part[:part.index("</tbody>")]


def mine(html: str) -> list[str]:
    return re.findall(r'<tr class="lb-me">\s*<td class="lb-rank">(\d+)</td>\s*<td><span class="lb-name">([^<]+)', html)


async def test_shared_content_is_rendered_once_and_each_viewer_has_their_own_parts(factory, client, monkeypatch):
    round_ = await factory.round(questions_per_attempt=4)
    an = await factory.participant(full_name="Nguyễn Văn An", unit="Sở Y tế", province="Huế")
    binh = await factory.participant(full_name="Trần Thị Bình", unit="Sở Y tế", province="Huế")
    chi = await factory.participant(full_name="Lê Thị Chi", unit="Sở Tư pháp", province="Huế")
    await take_attempt(an.call, round_.id, 3)
    await take_attempt(binh.call, round_.id, 2)
    counting = Counting(pages._parts())
    monkeypatch.setattr(pages, "_parts", lambda: counting)
    url = f"/rounds/{round_.id}/leaderboard"
    with shared_for(factory.app, 3600):
        an_page, binh_page, chi_page = [(await p.call("GET", url)).text for p in (an, binh, chi)]
        anonymous = (await client.get(url)).text
    assert counting.bodies == 1

    # Each sees their own standing and only their own row marked, in the top and around them.
    assert "hạng <strong>1</strong>/2" in standing(an_page) and "Sở Y tế: hạng <strong>1</strong>/2" in standing(an_page)
    assert "hạng <strong>2</strong>/2" in standing(binh_page)
    assert mine(top(an_page)) == [("1", "Nguyễn V. A. ")] and mine(standing(an_page)) == [("1", "Nguyễn V. A. ")]
    assert mine(top(binh_page)) == [("2", "Trần T. B. ")] and mine(standing(binh_page)) == [("2", "Trần T. B. ")]
    assert "Bạn chưa có kết quả trong đợt thi này." in standing(chi_page) and mine(chi_page) == []
    assert "Đăng nhập</a> để xem thứ hạng của bạn." in standing(anonymous) and mine(anonymous) == []
    assert 'data-logged-in="1"' in an_page and 'data-logged-in="0"' in anonymous
    # The shared part is the same for all: the top rows, but for the viewer's highlight.
    unmarked = top(anonymous)
    assert top(chi_page) == unmarked and top(an_page) != unmarked
    for html in (an_page, binh_page, chi_page, anonymous):
        assert "Sở Tư pháp" not in top(html)  # Chi has no result: not on the board
        assert "lb-rebuild" not in html and "\x00" not in html and 'rel="canonical"' in html


async def test_the_staff_form_carries_the_viewers_own_token(factory, client):
    round_ = await factory.round(questions_per_attempt=4)
    an, staff = await factory.participant(), await factory.participant()
    await take_attempt(an.call, round_.id, 1)
    await make_staff(factory.app, staff.user["id"])
    url = f"/rounds/{round_.id}/leaderboard"
    client.cookies.set(SESSION_COOKIE, staff.token)
    html = (await client.get(url)).text
    client.cookies.clear()
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    form = html[html.index('action="/rounds/%d/leaderboard/rebuild"' % round_.id):]
    assert re.search(r'name="csrf_token" value="([^"]+)"', form).group(1) == meta
    participant = (await an.call("GET", url)).text
    assert "lb-rebuild" not in participant


async def test_rows_around_a_viewer_are_shared_by_content_never_by_the_mark(factory, monkeypatch):
    round_ = await factory.round(questions_per_attempt=4)
    people = [await factory.participant(full_name=f"Phạm Văn {name}") for name in ("An", "Bảo", "Cường")]
    for right, person in zip((3, 2, 1), people):
        await take_attempt(person.call, round_.id, right)
    real = pages._parts()
    counting = Counting(real)
    rows = []
    counting.board_row = lambda row, final: rows.append(row.rank) or real.board_row(row, final)
    monkeypatch.setattr(pages, "_parts", lambda: counting)
    url = f"/rounds/{round_.id}/leaderboard"
    first = (await people[0].call("GET", url)).text
    rendered = len(rows)
    second = (await people[1].call("GET", url)).text
    # Bảo's neighbours are An's: only the two rows whose mark changed are rendered again.
    assert len(rows) - rendered == 2
    assert mine(standing(first)) == [("1", "Phạm V. A. ")] and mine(standing(second)) == [("2", "Phạm V. B. ")]
    assert standing(second).count("<tr") == 3
