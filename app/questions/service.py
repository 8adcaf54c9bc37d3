"""The bank as the rest of the app sees it: the pool to draw from, question contents for display
and grading, and writing an already-validated import."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Invalid
from app.core.runtime import cache_of
from app.questions.models import Option, Question


@dataclass(frozen=True)
class PoolEntry:
    id: int
    topic: str | None
    difficulty: int


@dataclass(frozen=True)
class QuestionContent:
    id: int
    text: str
    options: dict[int, str]  # option id -> text, in bank order
    topic: str | None
    difficulty: int
    explanation: str | None


async def load_pool(db: AsyncSession, contest_id: int) -> list[PoolEntry]:
    """Active questions of a contest. Queried on every attempt opening (a participant opens at
    most a few per round) so that a retired question is never drawn again, with no cache to expire."""
    rows = await db.execute(
        select(Question.id, Question.topic, Question.difficulty).where(
            Question.contest_id == contest_id, Question.retired.is_(False)
        )
    )
    return [PoolEntry(r.id, r.topic, r.difficulty) for r in rows]


class ContentCache:
    """Question texts by id, kept in process memory. Safe to cache without expiry because a
    question that has appeared in an attempt is never edited in place (an edit creates a new
    question and retires the old one), so an id always means the same words."""

    def __init__(self, capacity: int = 50_000):
        self.capacity = capacity
        self._items: OrderedDict[int, QuestionContent] = OrderedDict()

    async def get_many(self, db: AsyncSession, ids: list[int]) -> dict[int, QuestionContent]:
        missing = [i for i in ids if i not in self._items]
        if missing:
            await self._load(db, missing)
        found = {}
        for i in ids:
            item = self._items.get(i)
            if item is not None:
                self._items.move_to_end(i)
                found[i] = item
        return found

    async def _load(self, db: AsyncSession, ids: list[int]) -> None:
        questions = {q.id: q for q in (await db.scalars(select(Question).where(Question.id.in_(ids)))).all()}
        options: dict[int, dict[int, str]] = {i: {} for i in questions}
        for row in await db.execute(
            select(Option.id, Option.question_id, Option.text)
            .where(Option.question_id.in_(ids))
            .order_by(Option.question_id, Option.position)
        ):
            options[row.question_id][row.id] = row.text
        for qid, q in questions.items():
            self._items[qid] = QuestionContent(qid, q.text, options[qid], q.topic, q.difficulty, q.explanation)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def clear(self) -> None:
        self._items.clear()


def content_cache(db: AsyncSession) -> ContentCache:
    """The app's question-text cache (the runtime's, reached through the session)."""
    return cache_of(db, ContentCache)


@dataclass
class ImportSummary:
    added: int = 0
    # (row in the file, id of the same question already in the bank)
    duplicates_in_bank: list[tuple[int, int]] = field(default_factory=list)
    retired_in_bank: list[tuple[int, int]] = field(default_factory=list)


async def add_parsed_questions(db: AsyncSession, contest_id: int, parsed) -> ImportSummary:
    """Writes validated questions (see app.questions.importing) in one transaction. A question
    already in the bank (same wording, options and right option) is reported, not added:
    re-importing a file is a no-op. One that contradicts the bank's key raises, nothing written."""
    from app.questions.bank import ImportReport, write_questions

    report = ImportReport(filename="", format="")
    await write_questions(db, contest_id, list(parsed), report)
    if report.problems:
        await db.rollback()
        raise Invalid("bank_invalid", "; ".join(p.describe() for p in report.problems))
    return ImportSummary(report.added, report.duplicates_in_bank, report.retired_in_bank)
