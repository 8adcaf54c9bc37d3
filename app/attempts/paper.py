"""Drawing a paper: which questions an attempt gets and in which order their options appear."""

from __future__ import annotations

import os
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.core.errors import AppError
from app.questions.models import DIFFICULTY_LABELS
from app.questions.service import PoolEntry

_rng = random.SystemRandom()  # papers must not be predictable from earlier ones


def paper_rng() -> random.Random:
    """The generator for drawing one paper: seeded with 256 fresh bits from the OS, so a paper
    says nothing about any other (nobody sees the hundreds of outputs of one stream it would take
    to recover its state). SystemRandom made a system call per number, ~300 per paper: 240 µs of
    an open against 70 µs."""
    return random.Random(int.from_bytes(os.urandom(32), "big"))


# Options that point at other options by letter ("Cả A và B đều đúng") only make sense in the
# bank's order; "all of the above" must stay last. Real banks are full of both.
_LETTER_REFERENCE = re.compile(r"\b(phương án|đáp án|ý|câu)\s+[A-F]\b|\b[A-F]\s*(,|và|hoặc|&)\s*[A-F]\b", re.IGNORECASE)
_ABOVE_REFERENCE = re.compile(r"\b(trên|nêu trên|kể trên|đều đúng|đều sai)\b", re.IGNORECASE)


class BankTooSmall(AppError):
    status = 409


Kind = tuple[str | None, int]  # a kind of question: (topic, difficulty)
# A node of `_allocate`'s flow graph: ("q", quota index) or ("k", Kind); mypy cannot narrow a
# tuple union on its tag, so the second item is Any and the tag says which it is.
_Node = tuple[str, Any]


# --- the topic/difficulty quota rule: ONE rule, used by the draw and by the organizer's check ---


@dataclass(frozen=True)
class Quota:
    """ "`count` questions of `topic` and/or `difficulty` (None = any)", as stored on a round
    ({"topic", "difficulty", "count"}); the rest of a paper is drawn freely."""

    topic: str | None
    difficulty: int | None
    count: int

    @classmethod
    def of(cls, raw: dict | Quota) -> Quota:
        if isinstance(raw, Quota):
            return raw
        difficulty = raw.get("difficulty")
        return cls(raw.get("topic") or None, int(difficulty) if difficulty else None, int(raw.get("count") or 0))

    def matches(self, entry: PoolEntry) -> bool:
        return (self.topic is None or entry.topic == self.topic) and (
            self.difficulty is None or entry.difficulty == self.difficulty
        )

    def describe(self, everything: str = "cơ cấu này") -> str:
        return describe_quota({"topic": self.topic, "difficulty": self.difficulty}, everything)


def _allocate(
    pool: Sequence[PoolEntry], quotas: list[Quota], rng: random.Random | None = None
) -> tuple[dict[tuple[int, Kind], int], dict[Kind, list[int]], list[int]]:
    """How many questions of each kind (topic, difficulty) fill each quota, as a maximum flow
    source → quota (its count) → kind it matches → sink (questions of that kind). The quotas can
    be filled together exactly when the flow carries their whole count (Hall's condition: every
    group of quotas must match at least as many questions as they need together; checking each
    quota alone, or all together, is not enough when quotas overlap). `rng` shuffles the kinds,
    so that which kind serves a quota with a choice varies between papers.
    Returns (flow per (quota index, kind), kinds, quota indices a refusal is about)."""
    kinds: dict[Kind, list[int]] = {}
    for entry in pool:
        kinds.setdefault((entry.topic, entry.difficulty), []).append(entry.id)
    order = list(kinds)
    if rng is not None:
        rng.shuffle(order)
    edges = [[k for k in order if Quota.matches(q, PoolEntry(0, k[0], k[1]))] for q in quotas]
    flow: dict[tuple[int, Kind], int] = {}
    left = [q.count for q in quotas]  # residual capacity source → quota
    room = {k: len(ids) for k, ids in kinds.items()}  # residual capacity kind → sink
    while True:
        # Breadth-first search for an augmenting path in the residual graph (unit augmentations:
        # at most 50 questions per paper).
        parent: dict[_Node, _Node | None] = {}
        frontier: list[_Node] = [("q", i) for i in range(len(quotas)) if left[i] > 0]
        for node in frontier:
            parent[node] = None
        found: _Node | None = None
        while frontier and found is None:
            nxt: list[_Node] = []
            for node in frontier:
                if node[0] == "q":
                    for k in edges[node[1]]:
                        if ("k", k) not in parent:
                            parent[("k", k)] = node
                            if room[k] > 0:
                                found = ("k", k)
                                break
                            nxt.append(("k", k))
                else:  # back along a used quota → kind edge
                    for i in range(len(quotas)):
                        if flow.get((i, node[1]), 0) > 0 and ("q", i) not in parent:
                            parent[("q", i)] = node
                            nxt.append(("q", i))
                if found:
                    break
            frontier = nxt
        if found is None:
            short = sorted(i for kind, i in parent if kind == "q")
            return flow, kinds, short
        room[found[1]] -= 1
        node = found
        while (prev := parent[node]) is not None:
            if prev[0] == "q":
                flow[(prev[1], node[1])] = flow.get((prev[1], node[1]), 0) + 1
            else:
                flow[(node[1], prev[1])] -= 1
            node = prev
        left[node[1]] -= 1


def quota_problems(pool: Sequence[PoolEntry], count: int, raw_quotas: Sequence[dict | Quota]) -> list[str]:
    """Why a paper of `count` questions under `raw_quotas` cannot be drawn from `pool`, with the
    numbers, in the organizer's words; [] exactly when `draw_questions` can serve it."""
    quotas = [Quota.of(q) for q in raw_quotas]
    problems = []
    wanted = sum(q.count for q in quotas)
    if wanted > count:
        problems.append(f"Tổng số câu theo cơ cấu đề là {wanted}, vượt quá {count} câu của một lượt thi.")
    for quota in quotas:
        have = sum(1 for e in pool if quota.matches(e))
        if have < quota.count:
            problems.append(
                f"Cơ cấu đề cần {quota.count} câu {quota.describe('mọi câu hỏi')} "
                f"nhưng ngân hàng chỉ có {have} câu đang dùng."
            )
    if not problems and quotas:
        _, _, short = _allocate(pool, quotas)
        if short:
            group = [quotas[i] for i in short]
            need = sum(q.count for q in group)
            have = sum(1 for e in pool if any(q.matches(e) for q in group))
            names = "; ".join(f"{q.count} câu {q.describe('mọi câu hỏi')}" for q in group)
            problems.append(
                f"Các cơ cấu đề ({names}) cần tổng cộng {need} câu khác nhau nhưng ngân hàng chỉ có "
                f"{have} câu thuộc các cơ cấu đó (các cơ cấu trùng nhau)."
            )
    if len(pool) < count:
        problems.append(f"Mỗi lượt thi cần {count} câu nhưng ngân hàng chỉ có {len(pool)} câu đang dùng.")
    return problems


def draw_questions(
    pool: Sequence[PoolEntry], count: int, raw_quotas: Sequence[dict | Quota], rng: random.Random = _rng
) -> list[int]:
    """Question ids for one paper: the quotas are filled together (see `_allocate`), the rest
    from the whole pool, then the order is shuffled. Refuses (409) exactly the configurations
    `quota_problems` reports."""
    quotas = [Quota.of(q) for q in raw_quotas]
    if not quotas and len(pool) >= count:
        # No quota (most rounds): a plain sample of the pool, already in random order. The flow
        # below would only group the whole pool by kind to allocate nothing.
        return rng.sample([e.id for e in pool], count)
    flow, kinds, short = _allocate(pool, quotas, rng)
    if short or sum(q.count for q in quotas) > count or len(pool) < count:  # what quota_problems checks
        raise BankTooSmall("bank_too_small", " ".join(quota_problems(pool, count, quotas)))
    per_kind: dict[Kind, int] = {}
    for (_, kind), n in flow.items():
        per_kind[kind] = per_kind.get(kind, 0) + n
    chosen = [qid for kind, n in per_kind.items() if n for qid in rng.sample(kinds[kind], n)]
    if len(chosen) < count:
        used = set(chosen)
        chosen.extend(rng.sample([e.id for e in pool if e.id not in used], count - len(chosen)))
    rng.shuffle(chosen)
    return chosen


def describe_quota(quota: dict, everything: str = "cơ cấu này") -> str:
    """A quota in the organizer's words: "chủ đề “…”, mức độ Khó"."""
    parts = []
    if quota.get("topic"):
        parts.append(f"chủ đề “{quota['topic']}”")
    if quota.get("difficulty"):
        parts.append(f"mức độ {DIFFICULTY_LABELS[int(quota['difficulty'])]}")
    return ", ".join(parts) or everything


def option_layout(options: dict[int, str]) -> tuple[list[int], list[int]] | None:
    """How a question's options may be ordered: (ids to shuffle, ids kept last), or None when
    letter references freeze the bank order. Depends only on the texts (a question id always
    means the same words), so callers may keep it per question."""
    ids = list(options)
    texts = list(options.values())
    if any(_LETTER_REFERENCE.search(t) for t in texts):
        return None
    tail = [i for i, t in zip(ids, texts) if _ABOVE_REFERENCE.search(t)]
    return [i for i in ids if i not in tail], tail


def order_options(options: dict[int, str], rng: random.Random = _rng) -> list[int]:
    """Option ids in display order: shuffled, except that letter references freeze the bank
    order and "all/none of the above" options stay at the end."""
    return order_by_layout(options, option_layout(options), rng)


def order_by_layout(
    options: dict[int, str], layout: tuple[list[int], list[int]] | None, rng: random.Random = _rng
) -> list[int]:
    """`order_options` with the question's `option_layout` already known."""
    if layout is None:
        return list(options)
    head, tail = layout
    head = head[:]
    rng.shuffle(head)
    return head + tail
