"""Property tests: for random sets of attempts, with ties on every key, the order Redis keeps
equals a plain Python sort written straight from domain.md's rules (not from app code)."""
from __future__ import annotations

import asyncio
import functools
import random
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.leaderboard.board import ALL, FINAL, LIVE, BoardKeys, RoundBoard
from app.leaderboard.ordering import MAX_TIME_MS, Result, final_entry, live_entry, user_of_member
from app.leaderboard.ranking import count_all_correct, rank_results
from tests.leaderboard.conftest import fresh_round_id

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
# Small domains force ties on every key; a few huge values check precision at the edges.
CORRECT = st.sampled_from([0, 1, 19, 20])
TIME_MS = st.sampled_from([0, 1, 2, 59_999, MAX_TIME_MS - 1, MAX_TIME_MS])
SUBMITTED = st.sampled_from([0, 1, 2, 10**9, 10**12 + 1])  # ms after T0 (10**12 ms ≈ 31 years)
PREDICTION = st.sampled_from([None, 0, 1, 2, 3, 5, 10**9])

attempt = st.tuples(st.integers(1, 8), CORRECT, TIME_MS, SUBMITTED, PREDICTION)


def build(raw: list[tuple], seed: int) -> list[Result]:
    """Attempt ids unique (they are in the database) but shuffled relative to everything else."""
    ids = random.Random(seed).sample(range(1, 10**6), len(raw))
    return [Result(attempt_id=ids[i], user_id=u, correct=c, total=20, time_ms=t,
                   submitted_at=T0 + timedelta(milliseconds=s), prediction=p, full_name=f"Người {u}",
                   unit=f"Đơn vị {u % 3}", province="Hà Nội")
            for i, (u, c, t, s, p) in enumerate(raw)]


def live_rules(a: Result, b: Result) -> int:
    """domain.md, live board: more correct; shorter time; earlier submission; lower attempt id."""
    for x, y in ((b.correct, a.correct), (a.time_ms, b.time_ms), (a.submitted_at, b.submitted_at),
                 (a.attempt_id, b.attempt_id)):
        if x != y:
            return -1 if x < y else 1
    return 0


def final_rules(truth: int):
    """domain.md, final: the prediction distance comes second; no prediction ranks after any."""
    def distance(r: Result) -> float:
        return float("inf") if r.prediction is None else abs(r.prediction - truth)

    def compare(a: Result, b: Result) -> int:
        if a.correct != b.correct:
            return -1 if a.correct > b.correct else 1
        if distance(a) != distance(b):
            return -1 if distance(a) < distance(b) else 1
        return live_rules(a, b)
    return compare


def reference(results: list[Result], compare) -> list[Result]:
    """One entry per participant, their best attempt by `compare`, then all sorted by it."""
    best: dict[int, Result] = {}
    for r in results:
        if r.user_id not in best or compare(r, best[r.user_id]) < 0:
            best[r.user_id] = r
    return sorted(best.values(), key=functools.cmp_to_key(compare))


async def _live_order_matches(redis, results: list[Result], seed: int) -> None:
    expected = [(r.user_id, r.attempt_id) for r in reference(results, live_rules)]
    # Submits arrive in any order, some at the same moment.
    board = RoundBoard(redis, BoardKeys(fresh_round_id(), LIVE))
    entries = [live_entry(r) for r in results]
    random.Random(seed).shuffle(entries)
    half = len(entries) // 2
    for entry in entries[:half]:
        await board.record(entry)
    await asyncio.gather(*(board.record(e) for e in entries[half:]))
    size, lines = await board.page(ALL, 0, 1000)
    assert size == len(expected)
    assert [line.user_id for line in lines] == [u for u, _ in expected]
    assert [line.position for line in lines] == list(range(1, size + 1))
    rows = [await board.line_of(u) for u, _ in expected]
    by_id = {r.attempt_id: r for r in results}
    for (user_id, attempt_id), line in zip(expected, rows):
        r = by_id[attempt_id]
        assert (line.correct, line.time_ms, line.submitted_at) == (r.correct, r.time_ms, r.submitted_at)
    # A rebuild (bulk write) gives the same order.
    rebuilt = RoundBoard(redis, BoardKeys(fresh_round_id(), LIVE))
    counted = reference(results, live_rules)
    await rebuilt.replace_all([live_entry(r) for r in counted])
    assert [user_of_member(m) for m in await rebuilt.members()] == [u for u, _ in expected]


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.lists(attempt, min_size=1, max_size=30), seed=st.integers(0, 2**16))
async def test_live_order_in_redis_equals_the_rules(redis, raw, seed):
    await _live_order_matches(redis, build(raw, seed), seed)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.lists(attempt, min_size=1, max_size=30), seed=st.integers(0, 2**16))
async def test_live_order_in_redis_cluster_equals_the_rules(cluster, raw, seed):
    await _live_order_matches(cluster, build(raw, seed), seed)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.lists(attempt, min_size=1, max_size=30), seed=st.integers(0, 2**16),
       truth=st.one_of(st.none(), st.sampled_from([0, 1, 2, 3, 10**9])))
async def test_final_order_equals_the_rules_and_redis_keeps_it(redis, raw, seed, truth):
    results = build(raw, seed)
    if truth is None:  # T computed: participants whose counted attempt was all correct
        truth = sum(1 for r in reference(results, live_rules) if r.correct == r.total)
        assert count_all_correct(results) == truth
    expected = reference(results, final_rules(truth))
    ranking = rank_results(results, truth)
    assert [(e.user_id, e.attempt_id) for e in ranking] == [(r.user_id, r.attempt_id) for r in expected]
    assert [e.position for e in ranking] == list(range(1, len(expected) + 1))
    for entry, r in zip(ranking, expected):
        assert entry.distance == (None if r.prediction is None else abs(r.prediction - truth))
    board = RoundBoard(redis, BoardKeys(fresh_round_id(), FINAL))
    await board.replace_all([final_entry(e) for e in ranking])
    assert [user_of_member(m) for m in await board.members()] == [r.user_id for r in expected]
