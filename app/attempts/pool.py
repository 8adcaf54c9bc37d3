"""The question pool an open draws from, kept per contest in process memory.

Loading the bank's active questions (200 rows into Python objects) was the dearest part of
opening an attempt after the insert itself. The pool is now read once and checked at every open
by one aggregate over the contest's questions, a signature of the bank: how many there are, how
many are active, the highest id and the latest retirement. Every change the bank can make moves
it (a question added raises the highest id; a retirement or an edit, which retires the old copy,
sets a later retirement time and lowers the active count; a restore raises the active count), so
a retired question is never drawn and a new one is drawn at once, exactly as when the pool was
read at every open. Rows are never edited in place (app/questions/bank.py), so the topic and
difficulty of an id never change.
"""

from __future__ import annotations

import random

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.paper import option_layout, order_by_layout
from app.core.runtime import cache_of
from app.questions.models import Question
from app.questions.service import PoolEntry, load_pool

# The bank's signature (see the module docstring), as a one-row subquery: the open reads it in
# the same statement as the person's attempts in the round (app/attempts/service.py). Built once:
# constructing an expression cost as much CPU as running it.
SIGNATURE = (
    select(
        func.count().label("questions"),
        func.coalesce(func.sum(case((Question.retired.is_(False), 1), else_=0)), 0).label("active"),
        func.max(Question.id).label("top"),
        func.max(Question.retired_at).label("retired_at"),
    )
    .where(Question.contest_id == bindparam("contest_id"))
    .subquery("bank")
)
_SIGNATURE = select(SIGNATURE)


class PoolCache:
    def __init__(self) -> None:
        self._pools: dict[int, tuple[tuple, list[PoolEntry]]] = {}
        # question id -> (head option ids to shuffle, tail ids kept last) or None when the bank's
        # order is frozen (letter references): the regexes run once per question, not per paper.
        self._layouts: dict[int, tuple[list[int], list[int]] | None] = {}

    async def pool(self, db: AsyncSession, contest_id: int, signature: tuple | None = None) -> list[PoolEntry]:
        """The contest's active questions. `signature`: the bank's, read by the caller just now
        (None: read it here)."""
        if signature is None:
            signature = tuple((await db.execute(_SIGNATURE, {"contest_id": contest_id})).one())
        hit = self._pools.get(contest_id)
        if hit is not None and hit[0] == signature:
            return hit[1]
        # Read after the signature: never older than it (a change in between only means one
        # more reload at the next open).
        pool = await load_pool(db, contest_id)
        self._pools[contest_id] = (signature, pool)
        return pool

    def cached(self, contest_id: int) -> tuple[tuple, list[PoolEntry]] | None:
        """(signature, pool) as last read, unchecked: for a caller that checks the signature
        against the bank itself, in the statement that uses the paper (app/attempts/statements.py)."""
        return self._pools.get(contest_id)

    def order_options(self, question_id: int, options: dict[int, str], rng: random.Random | None = None) -> list[int]:
        """paper.order_options, with each question's layout worked out once."""
        if question_id not in self._layouts:
            if len(self._layouts) > 100_000:
                self._layouts.clear()
            self._layouts[question_id] = option_layout(options)
        if rng is None:
            return order_by_layout(options, self._layouts[question_id])
        return order_by_layout(options, self._layouts[question_id], rng)

    def clear(self) -> None:
        self._pools.clear()
        self._layouts.clear()


def pool_cache(db: AsyncSession) -> PoolCache:
    return cache_of(db, PoolCache)
