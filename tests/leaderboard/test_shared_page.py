"""The board page's shared part (app/leaderboard/fragments.py): during a rush a live board's top is
rendered once and shown to everyone for a moment, saying when it was updated, while each viewer's
own standing is always current; a final board, a republished one or another name style is never
served from it. And the submit's one-call board update (board.py, the record script's quick form)."""
from __future__ import annotations

import json
import re
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from app.leaderboard.board import ALL, FINAL, LIVE, BoardKeys, RoundBoard, Scope
from app.leaderboard.ordering import Result, final_entry, live_entry, user_of_member
from app.leaderboard.privacy import set_name_style
from app.leaderboard.ranking import RankedEntry
from app.leaderboard.rebuild import publish_final_board
from app.leaderboard.service import ReadContext, board_and_row
from tests.leaderboard.conftest import fresh_round_id
from tests.leaderboard.journey import take_attempt


@contextmanager
def shared_for(app, seconds: float):
    fragments = app.state.runtime.caches.board_fragments
    before, fragments.live_seconds = fragments.live_seconds, seconds
    try:
        yield
    finally:
        fragments.live_seconds = before


def top_names(html: str) -> list[str]:
    table = html[html.index('id="lb-rows"'):]
    table = table[:table.index("</tbody>")]
    return re.findall(r'<span class="lb-name">([^<]+)', table)


async def test_a_live_top_is_shared_for_a_moment_but_standing_final_board_and_name_style_never(factory, client, db):
    round_ = await factory.round(questions_per_attempt=4)
    an = await factory.participant(full_name="Nguyễn Văn An", unit="Sở Y tế", province="Huế")
    await take_attempt(an.call, round_.id, 2)
    url = f"/rounds/{round_.id}/leaderboard"
    with shared_for(factory.app, 3600):
        first = await client.get(url)
        assert top_names(first.text) == ["Nguyễn V. A."]
        assert re.search(r'id="lb-updated"[^>]*>Cập nhật lúc \d\d:\d\d:\d\d', first.text)
        # Both filters at once: the reason, both choices kept, and the form still lists every province.
        both = await client.get(url, params={"unit": "Sở Y tế", "province": "Huế"})
        assert both.status_code == 422 and 'id="lb-filter-error"' in both.text
        assert 'value="Sở Y tế"' in both.text and "Huế (1)" in both.text

        binh = await factory.participant(full_name="Trần Thị Bình", unit="Sở Y tế", province="Huế")
        await take_attempt(binh.call, round_.id, 4)
        # The shared top is the one rendered a moment ago, and says so ...
        again = await client.get(url)
        assert top_names(again.text) == ["Nguyễn V. A."]
        assert again.text[again.text.index('id="lb-updated"'):].startswith(
            first.text[first.text.index('id="lb-updated"'):][:60])
        # ... but Bình's own standing is current, and the API is exact.
        mine = await binh.call("GET", url)
        assert "Thứ hạng của bạn" in mine.text and "hạng <strong>1</strong>/2" in mine.text
        api = (await client.get(f"/api/v1/rounds/{round_.id}/leaderboard")).json()
        assert [r["name"] for r in api["rows"]] == ["Trần T. B.", "Nguyễn V. A."]

        # Another name style is another entry: never names the organizer hid.
        await set_name_style(db, round_.id, "hidden")
        hidden = await client.get(url)
        assert top_names(hidden.text) == ["Ẩn danh", "Ẩn danh"] and "Nguyễn V. A." not in hidden.text
        await set_name_style(db, round_.id, "initials")

        # The final board is shown at once, and a republished one (another T) too.
        await publish_final_board(db, factory.app.state.runtime.board_redis, round_.id, 1)
        final = await client.get(url)
        assert "Kết quả chính thức" in final.text and "<strong>1</strong>" in final.text
        assert top_names(final.text) == ["Trần T. B.", "Nguyễn V. A."]
        await publish_final_board(db, factory.app.state.runtime.board_redis, round_.id, 2)
        republished = await client.get(url)
        assert "tất cả các câu hỏi: <strong>2</strong>" in republished.text

    # Without the shared moment a live page shows every change (tests/conftest.py sets 0).
    live = await factory.round(questions_per_attempt=4)
    await take_attempt(an.call, live.id, 1)
    assert top_names((await client.get(f"/rounds/{live.id}/leaderboard")).text) == ["Nguyễn V. A."]
    await take_attempt(binh.call, live.id, 3)
    assert top_names((await client.get(f"/rounds/{live.id}/leaderboard")).text) == ["Trần T. B.", "Nguyễn V. A."]


T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def result(attempt_id: int, correct: int, unit: str, user_id: int = 7) -> Result:
    return Result(attempt_id=attempt_id, user_id=user_id, correct=correct, total=10, time_ms=60_000,
                  submitted_at=T0 + timedelta(minutes=attempt_id), prediction=None, full_name="Lý Văn Tâm",
                  unit=unit, province="Huế")


async def test_the_submits_quick_record_keeps_the_boards_right(board_redis):
    board = RoundBoard(board_redis, BoardKeys(fresh_round_id(), LIVE))
    # A board Redis lost (no version key): nothing is written, the caller rebuilds from the database.
    assert await board.record_if_present(live_entry(result(1, 3, "Sở Y tế"))) is None
    assert await board.members() == [] and await board.version() is None

    await board.record(live_entry(result(1, 3, "Sở Y tế", user_id=8)))  # someone else: the board exists
    assert await board.record_if_present(live_entry(result(2, 5, "Sở Y tế"))) is True
    assert await board.record_if_present(live_entry(result(3, 4, "Sở Y tế"))) is False  # worse: kept the 5
    assert await board.record_if_present(live_entry(result(2, 5, "Sở Y tế"))) is False  # the same attempt again
    # A better attempt after the participant changed unit: moved between the unit boards and counts.
    assert await board.record_if_present(live_entry(result(4, 6, "Sở Tư pháp"))) is True
    assert [user_of_member(m) for m in await board.members(ALL)] == [7, 8]
    assert [user_of_member(m) for m in await board.members(Scope("unit", "Sở Tư pháp"))] == [7]
    assert [user_of_member(m) for m in await board.members(Scope("unit", "Sở Y tế"))] == [8]
    assert (await board.groups("unit", 0, 10))[1] == [("Sở Tư pháp", 1), ("Sở Y tế", 1)]
    assert (await board.line_of(7)).correct == 6
    rank, size, lines = (await board.standings([ALL, Scope("unit", "Sở Tư pháp")], 7, 1, 1))[1]
    assert (rank, size, [x.user_id for x in lines]) == (1, 1, [7])
    overall, unit = await board.standings([ALL, Scope("unit", "Sở Tư pháp")], 7, 1, 1, with_lines=1)
    assert [x.user_id for x in overall[2]] == [7, 8] and unit[:2] == (1, 1) and unit[2] == []


async def test_which_board_and_my_row_come_in_one_round_trip(board_redis):
    """The page's first read (service.board_and_row), on the single Redis and on the cluster."""
    round_id = fresh_round_id()
    live = RoundBoard(board_redis, BoardKeys(round_id, LIVE))
    await live.record(live_entry(result(1, 3, "Sở Y tế")))
    ctx = ReadContext(db=None, redis=board_redis, default_name_style="initials")  # type: ignore[arg-type]
    phase, board, version, row = await board_and_row(ctx, round_id, 7)
    assert (phase, board.keys.kind, version) == (LIVE, LIVE, await live.version())
    assert json.loads(row)["c"] == 3
    assert (await board_and_row(ctx, round_id, 8))[3] is None  # not on the board
    assert (await board_and_row(ctx, round_id, None))[3] is None  # nobody logged in

    final = RoundBoard(board_redis, BoardKeys(round_id, FINAL))
    await final.replace_all([final_entry(RankedEntry.of(1, result(1, 3, "Sở Y tế"), 2))], {"truth": "5"})
    phase, board, version, row = await board_and_row(ctx, round_id, 7)
    assert (phase, board.keys.kind, version) == (FINAL, FINAL, await final.version())
    assert json.loads(row)["d"] == 2  # the final board's row, with the distance
