"""The live board in Redis (single Redis and a real 3-node Redis Cluster): exact scores, a better
attempt replacing a worse one atomically (also when submits race), unit/province boards, counts,
"my rank" with neighbours."""
from __future__ import annotations

import asyncio
import random
from datetime import datetime, timedelta, timezone

import pytest

from app.leaderboard.board import ALL, LIVE, BoardKeys, RoundBoard, Scope
from app.leaderboard.ordering import (
    MAX_CORRECT,
    MAX_TIME_MS,
    Result,
    decode_live_score,
    live_entry,
    live_member,
    live_score,
    user_of_member,
)
from tests.leaderboard.conftest import fresh_round_id

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)


def result(attempt_id: int, user_id: int, correct: int, time_ms: int, submitted_offset_ms: int = 0,
           unit: str | None = "Sở Tư pháp", province: str | None = "Hà Nội", name: str = "Nguyễn Văn An") -> Result:
    return Result(attempt_id=attempt_id, user_id=user_id, correct=correct, total=20, time_ms=time_ms,
                  submitted_at=T0 + timedelta(milliseconds=submitted_offset_ms), prediction=None,
                  full_name=name, unit=unit, province=province)


def live_board(redis) -> RoundBoard:
    return RoundBoard(redis, BoardKeys(fresh_round_id(), LIVE))


async def users_in_order(board: RoundBoard, scope: Scope = ALL) -> list[int]:
    return [user_of_member(m) for m in await board.members(scope)]


async def test_scores_are_exact_integers_in_redis(board_redis):
    """The largest score (0 correct, time at its maximum) comes back from Redis bit for bit, and
    two entries one millisecond apart never collapse into one score, as they would in a float
    built as correct * 1e13 - time."""
    board = live_board(board_redis)
    worst = live_score(0, MAX_TIME_MS)
    assert worst > 2**47 and worst < 2**53
    await board_redis.zadd(board.keys.all, {"a": worst, "b": worst - 1, "c": live_score(MAX_CORRECT, 0)})
    scores = dict(await board_redis.zrange(board.keys.all, 0, -1, withscores=True))
    assert int(scores["a"]) == worst and int(scores["b"]) == worst - 1 and scores["c"] == 0
    assert decode_live_score(scores["a"]) == (0, MAX_TIME_MS)
    assert decode_live_score(scores["b"]) == (0, MAX_TIME_MS - 1)
    # What a naive float encoding would lose: 50 correct and 1 ms apart at epoch-ms scale.
    naive = lambda correct, submitted_ms: float(correct * 10**16 - submitted_ms)  # noqa: E731
    assert naive(50, 1_763_000_000_000) == naive(50, 1_763_000_000_001)
    with pytest.raises(ValueError):
        live_score(MAX_CORRECT + 1, 0)
    with pytest.raises(ValueError):
        live_score(0, MAX_TIME_MS + 1)
    # Equal score: the member decides, earlier submission first, then lower attempt id.
    assert live_member(5, 99, 1) < live_member(6, 1, 1) and live_member(5, 1, 2) < live_member(5, 2, 1)


async def test_better_attempt_replaces_a_worse_one_and_a_worse_one_never_does(board_redis):
    board = live_board(board_redis)
    other = result(1, 2, 15, 60_000)
    assert await board.record(live_entry(other))
    first = result(10, 1, 12, 50_000)
    assert await board.record(live_entry(first))
    assert await users_in_order(board) == [2, 1]

    assert not await board.record(live_entry(result(11, 1, 11, 10_000)))  # fewer correct: ignored
    assert not await board.record(live_entry(result(12, 1, 12, 50_000, submitted_offset_ms=5)))  # later: ignored
    assert not await board.record(live_entry(first))  # the same attempt again: nothing changes
    line = await board.line_of(1)
    assert (line.correct, line.time_ms) == (12, 50_000)

    assert await board.record(live_entry(result(13, 1, 15, 59_999, submitted_offset_ms=99)))  # better: replaces
    assert await users_in_order(board) == [1, 2]
    assert await board.size() == 2
    assert len(await board.members(Scope("unit", "Sở Tư pháp"))) == 2
    assert (await board.groups("unit", 0, 10))[1] == [("Sở Tư pháp", 2)]


async def test_racing_submits_of_one_participant_leave_only_the_best(board_redis):
    """Twenty attempts of the same participant (and of a neighbour) recorded at the same time over
    separate connections, in random order, ten times over: the board always ends with each
    participant's best, counted once in their unit and province."""
    rng = random.Random(4)
    for _ in range(10):
        board = live_board(board_redis)
        mine = [result(100 + i, 1, rng.randrange(5, 8), rng.randrange(1000, 1010), rng.randrange(3),
                       unit=rng.choice(["Đơn vị A", "Đơn vị B"])) for i in range(20)]
        theirs = [result(200 + i, 2, rng.randrange(5, 8), 1000) for i in range(5)]
        entries = [live_entry(r) for r in mine + theirs]
        rng.shuffle(entries)
        await asyncio.gather(*(board.record(e) for e in entries))
        best = min(mine, key=lambda r: (-r.correct, r.time_ms, r.submitted_ms, r.attempt_id))
        line = await board.line_of(1)
        assert (line.correct, line.time_ms, line.submitted_at, line.unit) == (
            best.correct, best.time_ms, best.submitted_at, best.unit)
        assert await board.size() == 2
        units = dict((await board.groups("unit", 0, 10))[1])
        assert sum(units.values()) == 2 and units[best.unit] >= 1
        other_unit = {"Đơn vị A": "Đơn vị B", "Đơn vị B": "Đơn vị A"}[best.unit]
        assert 1 not in await users_in_order(board, Scope("unit", other_unit))
        assert dict((await board.groups("province", 0, 10))[1]) == {"Hà Nội": 2}


async def test_unit_and_province_boards_counts_and_my_rank_with_neighbours(board_redis):
    board = live_board(board_redis)
    units = ["Sở Tư pháp", "Trường THPT Chu Văn An", "Công an tỉnh"]
    provinces = ["Hà Nội", "Nghệ An"]
    results = [result(1000 + u, u, 20 - u % 7, 40_000 + u * 10, unit=units[u % 3], province=provinces[u % 2],
                      name=f"Trần Thị Người {u}") for u in range(1, 31)]
    await asyncio.gather(*(board.record(live_entry(r)) for r in results))
    expected = sorted(results, key=lambda r: (-r.correct, r.time_ms))
    assert await users_in_order(board) == [r.user_id for r in expected]

    total, lines = await board.page(ALL, 0, 5)
    assert total == 30 and [x.position for x in lines] == [1, 2, 3, 4, 5]
    assert [x.user_id for x in lines] == [r.user_id for r in expected[:5]]

    for unit in units:
        in_unit = [r.user_id for r in expected if r.unit == unit]
        assert await users_in_order(board, Scope("unit", unit)) == in_unit
    assert (await board.groups("unit", 0, 10)) == (3, [(u, 10) for u in sorted(units)])
    assert (await board.groups("province", 0, 10)) == (2, [("Hà Nội", 15), ("Nghệ An", 15)])

    me = expected[10].user_id
    rank, size, around = await board.around(ALL, me, 2, 2)
    assert (rank, size) == (11, 30)
    assert [x.user_id for x in around] == [r.user_id for r in expected[8:13]]
    assert [x.position for x in around] == [9, 10, 11, 12, 13]
    top = expected[0].user_id
    rank, _, around = await board.around(ALL, top, 3, 1)
    assert rank == 1 and [x.user_id for x in around] == [r.user_id for r in expected[:2]]
    unit = expected[10].unit
    in_unit = [r.user_id for r in expected if r.unit == unit]
    rank, size, _ = await board.around(Scope("unit", unit), me, 1, 1)
    assert (rank, size) == (in_unit.index(me) + 1, 10)
    assert await board.around(ALL, 999_999, 2, 2) is None


async def test_participants_without_unit_or_province_are_ranked_overall_only(board_redis):
    board = live_board(board_redis)
    await board.record(live_entry(result(1, 1, 5, 100, unit=None, province=None)))
    await board.record(live_entry(result(2, 2, 6, 100)))
    assert await users_in_order(board) == [2, 1]
    assert (await board.groups("unit", 0, 10)) == (1, [("Sở Tư pháp", 1)])
    # The participant later names a unit (profile edited) and improves: moves into that unit.
    await board.record(live_entry(result(3, 1, 7, 100, unit="Sở Tư pháp", province=None)))
    assert (await board.groups("unit", 0, 10)) == (1, [("Sở Tư pháp", 2)])
    assert await users_in_order(board, Scope("unit", "Sở Tư pháp")) == [1, 2]


async def test_all_keys_of_a_round_share_one_cluster_slot():
    from redis.crc import key_slot

    keys = BoardKeys(12345, LIVE)
    names = keys.fixed() + [keys.version, keys.lock, keys.group_board("unit", "Sở Tư pháp"),
                            keys.group_board("province", "Hà Nội")]
    names += keys.staged().fixed() + [BoardKeys(12345, "final").all]
    assert len({key_slot(k.encode()) for k in names}) == 1
    assert key_slot(BoardKeys(12346, LIVE).all.encode()) != key_slot(keys.all.encode())


async def test_replace_all_swaps_in_a_complete_board(board_redis):
    board = live_board(board_redis)
    await board.record(live_entry(result(1, 1, 5, 100, unit="Cũ")))
    fresh = [result(10 + u, u, u, 100, unit="Mới") for u in range(2, 6)]
    await board.replace_all([live_entry(r) for r in fresh])
    assert await users_in_order(board) == [5, 4, 3, 2]
    assert await board.groups("unit", 0, 10) == (1, [("Mới", 4)])
    assert await board.members(Scope("unit", "Cũ")) == []
    assert await board.line_of(1) is None
