"""The topic/difficulty quota rule is one rule: the organizer's check (app.contests.editing,
via app.attempts.paper.quota_problems) accepts exactly the rounds the draw can serve, and every
drawn paper honours every quota. The oracle below is written from the definition (Hall's
condition on every group of quotas), not from the app's code."""
from __future__ import annotations

import random
from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.contests import editing as contest_admin
from app.attempts.paper import BankTooSmall, draw_questions
from app.questions.service import PoolEntry

TOPICS = st.sampled_from(["Chủ đề 1", "Chủ đề 2", None])
kinds = st.tuples(TOPICS, st.integers(1, 3))
quota = st.fixed_dictionaries({"topic": TOPICS, "difficulty": st.sampled_from([None, 1, 2, 3]),
                               "count": st.integers(1, 4)})


def matches(entry: PoolEntry, q: dict) -> bool:
    return (q["topic"] is None or entry.topic == q["topic"]) and (q["difficulty"] is None or entry.difficulty == q["difficulty"])


def servable(pool: list[PoolEntry], count: int, quotas: list[dict]) -> bool:
    """A paper of `count` distinct questions exists in which each quota has its own `count`
    matching questions: every group of quotas matches at least as many questions as it needs,
    the quotas fit in the paper, and the bank holds a whole paper."""
    if sum(q["count"] for q in quotas) > count or len(pool) < count:
        return False
    for size in range(1, len(quotas) + 1):
        for group in combinations(quotas, size):
            if sum(1 for e in pool if any(matches(e, q) for q in group)) < sum(q["count"] for q in group):
                return False
    return True


def honours(paper: list[PoolEntry], quotas: list[dict]) -> bool:
    return servable(paper, len(paper), quotas)


@settings(max_examples=300, deadline=None)
@given(raw=st.lists(kinds, max_size=14), count=st.integers(1, 9), quotas=st.lists(quota, max_size=4),
       seed=st.integers(0, 2**16))
def test_the_admin_check_accepts_exactly_what_the_draw_can_serve(raw, count, quotas, seed):
    pool = [PoolEntry(i + 1, topic, difficulty) for i, (topic, difficulty) in enumerate(raw)]
    ok = servable(pool, count, quotas)
    problems = contest_admin.quota_problems(pool, count, quotas)
    assert (problems == []) == ok, problems
    by_id = {e.id: e for e in pool}
    rng = random.Random(seed)
    for _ in range(3):
        if ok:
            paper = draw_questions(pool, count, quotas, rng)
            assert len(paper) == len(set(paper)) == count and set(paper) <= set(by_id)
            assert honours([by_id[i] for i in paper], quotas)
        else:
            with pytest.raises(BankTooSmall):
                draw_questions(pool, count, quotas, rng)


def test_overlapping_quotas_the_check_accepts_are_always_served():
    """The copies differed here: 2 questions of topic 1 (any level) and 2 hard ones of topic 1
    from a bank with 2 easy and 2 hard: the check accepted it, the greedy draw then failed
    whenever the first quota happened to take a hard question."""
    pool = [PoolEntry(1, "Chủ đề 1", 1), PoolEntry(2, "Chủ đề 1", 1), PoolEntry(3, "Chủ đề 1", 3),
            PoolEntry(4, "Chủ đề 1", 3), PoolEntry(5, "Chủ đề 2", 2)]
    quotas = [{"topic": "Chủ đề 1", "difficulty": None, "count": 2}, {"topic": "Chủ đề 1", "difficulty": 3, "count": 2}]
    assert contest_admin.quota_problems(pool, 5, quotas) == []
    rng = random.Random(7)
    for _ in range(40):
        assert sorted(draw_questions(pool, 5, quotas, rng)) == [1, 2, 3, 4, 5]


def test_a_group_of_overlapping_quotas_too_big_for_the_bank_is_refused_with_the_numbers():
    pool = [PoolEntry(i, "Chủ đề 1", 3) for i in range(1, 4)] + [PoolEntry(i, "Chủ đề 2", 1) for i in range(4, 12)]
    quotas = [{"topic": "Chủ đề 1", "difficulty": None, "count": 2}, {"topic": None, "difficulty": 3, "count": 2}]
    (problem,) = contest_admin.quota_problems(pool, 10, quotas)
    assert "cần tổng cộng 4 câu" in problem and "chỉ có 3 câu" in problem
