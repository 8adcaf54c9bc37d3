"""The board page in parts (app/leaderboard/pages.py, fragments.py): the content every viewer sees
alike is rendered once per shared part and reused, the rows around a viewer's own once per
content; each viewer's standing, their row's highlight, whether they are logged in and the
staff's form (with their own session's CSRF token) are theirs alone."""
from __future__ import annotations

import re
from datetime import timedelta

from app.leaderboard import pages
from app.leaderboard.board import FINAL, LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import Result, final_entry, live_entry
from app.leaderboard.page_reads import read_for_viewer
from app.leaderboard.ranking import RankedEntry
from app.leaderboard.service import row_out, standing_out
from app.core.sessions import SESSION_COOKIE
from tests.leaderboard.conftest import fresh_round_id, make_staff
from tests.leaderboard.journey import take_attempt
from tests.leaderboard.test_shared_page import T0, shared_for


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
    # Bảo's neighbours are An's: Cường's row, alike on both pages, is not rendered again.
    assert 3 not in rows[rendered:] and 1 in rows[rendered:] and 2 in rows[rendered:]
    assert mine(standing(first)) == [("1", "Phạm V. A. ")] and mine(standing(second)) == [("2", "Phạm V. B. ")]
    assert standing(second).count("<tr") == 3


def _entry(attempt_id: int, user_id: int, correct: int, unit: str | None, province: str | None) -> Result:
    return Result(attempt_id=attempt_id, user_id=user_id, correct=correct, total=10, time_ms=60_000 + user_id,
                  submitted_at=T0 + timedelta(minutes=attempt_id), prediction=3, full_name=f"Lý Văn {user_id}",
                  unit=unit, province=province)


async def test_the_pages_one_call_read_matches_the_standings_of_the_api(board_redis):
    """page_reads.read_for_viewer (the page's board, row and standing in one call, the groups in
    a second) says what service.standing_out says, live and final, on Redis and on the cluster."""
    round_id = fresh_round_id()
    people = [_entry(i, 100 + i, 10 - i % 4, ["Sở Y tế", "sở  y TẾ", None][i % 3], [None, "Huế", "Huế"][i % 3 - 1])
              for i in range(1, 9)]
    live = RoundBoard(board_redis, BoardKeys(round_id, LIVE))
    for person in people:
        await live.record(live_entry(person))

    async def same(phase, board):
        for user_id in [p.user_id for p in people] + [999]:
            read = await read_for_viewer(board_redis, round_id, user_id, 2)
            row = await board_redis.hget(board.keys.rows, str(user_id))
            expected = await standing_out(round_id, "initials", phase, board, user_id, row, 2, 1)
            assert (read.phase, read.version, read.on_board) == (phase, await board.version(), expected.on_board)
            assert [(s.scope, s.scope_name, s.rank, s.participants) for s in read.standings] == [
                (s.scope, s.scope_name, s.rank, s.participants) for s in expected.standings]
            lines = [RankedEntry.from_board(x.rank, x.user_id, x.row) for x in read.lines]
            if expected.standings:
                assert [row_out(x, "initials", user_id, phase == FINAL) for x in lines] == expected.standings[0].rows
        nobody = await read_for_viewer(board_redis, round_id, None, 2)
        assert (nobody.phase, nobody.row, nobody.standings) == (phase, None, [])

    await same(LIVE, live)
    final = RoundBoard(board_redis, BoardKeys(round_id, FINAL))
    ranked = [RankedEntry.of(i, p, abs(p.prediction - 5)) for i, p in enumerate(people, start=1)]
    await final.replace_all([final_entry(r) for r in ranked], {"truth": "5"})
    await same(FINAL, final)
