"""Drawing a paper: which questions an attempt gets and in which order their options appear."""
from __future__ import annotations

import random
import re
from collections.abc import Sequence

from app.core.errors import AppError
from app.questions.models import DIFFICULTY_LABELS
from app.questions.service import PoolEntry

_rng = random.SystemRandom()  # papers must not be predictable from earlier ones

# Options that point at other options by letter ("Cả A và B đều đúng") only make sense in the
# bank's order; "all of the above" must stay last. Real banks are full of both.
_LETTER_REFERENCE = re.compile(
    r"\b(phương án|đáp án|ý|câu)\s+[A-F]\b|\b[A-F]\s*(,|và|hoặc|&)\s*[A-F]\b", re.IGNORECASE
)
_ABOVE_REFERENCE = re.compile(r"\b(trên|nêu trên|kể trên|đều đúng|đều sai)\b", re.IGNORECASE)


class BankTooSmall(AppError):
    status = 409


def draw_questions(pool: Sequence[PoolEntry], count: int, quotas: Sequence[dict],
                   rng: random.Random = _rng) -> list[int]:
    """Question ids for one paper: each quota ({topic, difficulty, count}, None = any) is filled
    from the questions it matches, the rest from the whole pool, then the order is shuffled."""
    if sum(int(q.get("count", 0)) for q in quotas) > count:
        raise AppError("invalid_quotas", f"Tổng số câu theo cơ cấu đề vượt quá {count} câu của một lượt thi.", 409)
    used: set[int] = set()
    chosen: list[int] = []
    for quota in quotas:
        matching = [q.id for q in pool if q.id not in used and _matches(q, quota)]
        need = int(quota.get("count", 0))
        if len(matching) < need:
            raise BankTooSmall("bank_too_small", (
                f"Ngân hàng chỉ có {len(matching)} câu hỏi thuộc "
                f"{describe_quota(quota)}, không đủ {need} câu theo cơ cấu đề."))
        picked = rng.sample(matching, need)
        used.update(picked)
        chosen.extend(picked)
    remaining = count - len(chosen)
    if remaining > 0:
        rest = [q.id for q in pool if q.id not in used]
        if len(rest) < remaining:
            raise BankTooSmall("bank_too_small",
                               f"Ngân hàng chỉ có {len(pool)} câu hỏi đang dùng, không đủ {count} câu cho một lượt thi.")
        chosen.extend(rng.sample(rest, remaining))
    rng.shuffle(chosen)
    return chosen


def _matches(entry: PoolEntry, quota: dict) -> bool:
    topic, difficulty = quota.get("topic"), quota.get("difficulty")
    return (topic is None or entry.topic == topic) and (difficulty is None or entry.difficulty == int(difficulty))


def describe_quota(quota: dict, everything: str = "cơ cấu này") -> str:
    """A quota in the organizer's words: "chủ đề “…”, mức độ Khó"."""
    parts = []
    if quota.get("topic"):
        parts.append(f"chủ đề “{quota['topic']}”")
    if quota.get("difficulty"):
        parts.append(f"mức độ {DIFFICULTY_LABELS[int(quota['difficulty'])]}")
    return ", ".join(parts) or everything


def order_options(options: dict[int, str], rng: random.Random = _rng) -> list[int]:
    """Option ids in display order: shuffled, except that letter references freeze the bank
    order and "all/none of the above" options stay at the end."""
    ids = list(options)
    texts = list(options.values())
    if any(_LETTER_REFERENCE.search(t) for t in texts):
        return ids
    tail = [i for i, t in zip(ids, texts) if _ABOVE_REFERENCE.search(t)]
    head = [i for i in ids if i not in tail]
    rng.shuffle(head)
    return head + tail
