"""The organizer's view of a contest's bank: importing a file with its report, browsing and
searching, editing, retiring, counts by topic and difficulty. Plain async functions; the API,
the pages and the CLI all call these.

Questions are never edited in place once they exist: an edit retires the question and adds its
corrected copy (`replaces_id` points back), because a past attempt must keep showing exactly what
the participant saw, and workers cache question texts by id (app.questions.service.ContentCache)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, func, insert, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from app.core.clock import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.textnorm import clean_text, comparable, question_key, search_key, strip_accents
from app.questions.importing import ImportLimits, ParsedQuestion, ParseResult, Problem, parse_bank_file
from app.questions.importing.guards import format_count
from app.questions.importing.rules import LETTERS, check_options, parse_answer, parse_difficulty, right_option
from app.questions.models import DIFFICULTY_LABELS, Option, Question
from app.questions.quality import BankItem, QualityReport, check_bank
from app.staff import audit
from app.staff.roles import StaffAccess

FORMAT_LABELS = {
    "xlsx": "Excel (.xlsx)",
    "xls": "Excel 97-2003 (.xls)",
    "ods": "OpenDocument (.ods)",
    "csv": "CSV",
    "gift": "Moodle GIFT",
    "aiken": "Moodle Aiken",
}
ENCODING_LABELS = {"tcvn3": "TCVN3 (.VnTime)", "vni": "VNI (VNI-Times)"}
_CHUNK = 500
_BANK_LOCK_SPACE = 3  # first key of the PostgreSQL advisory lock that serializes imports per contest


def limits_from_settings(settings) -> ImportLimits:
    return ImportLimits(
        max_bytes=settings.max_upload_bytes,
        max_rows=settings.bank_max_rows,
        max_cell_chars=settings.bank_max_cell_chars,
        max_uncompressed_bytes=settings.bank_max_uncompressed_bytes,
    )


@dataclass
class ImportReport:
    """Everything an organizer needs to know about one upload, written or not."""

    filename: str
    format: str
    written: bool = False  # True when questions were added (or would be, for a check)
    dry_run: bool = False
    added: int = 0
    problems: list[Problem] = field(default_factory=list)
    notes: list[Problem] = field(default_factory=list)
    converted_rows: list[int] = field(default_factory=list)
    conversions: dict[str, int] = field(default_factory=dict)
    duplicate_rows: list[tuple[int, int]] = field(default_factory=list)  # (row, first row) within the file
    duplicates_in_bank: list[tuple[int, int]] = field(default_factory=list)  # (row, active question id)
    retired_in_bank: list[tuple[int, int]] = field(default_factory=list)  # (row, retired question id)
    # The file's editorial quality (app.questions.quality): warnings only, never a reason to refuse.
    quality: QualityReport | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def summary(self) -> str:
        return summary_line(self)

    @property
    def conversion_labels(self) -> list[str]:
        """["TCVN3 (.VnTime): 3 dòng", …]: the legacy encodings converted, for the report."""
        return [f"{ENCODING_LABELS[e]}: {format_count(n)} dòng" for e, n in self.conversions.items() if n]

    def to_json(self) -> dict:
        return {
            "filename": self.filename,
            "format": self.format,
            "ok": self.ok,
            "dry_run": self.dry_run,
            "added": self.added,
            "problems": [p.to_json() for p in self.problems],
            "notes": [p.to_json() for p in self.notes],
            "converted_rows": self.converted_rows,
            "conversions": self.conversions,
            "duplicate_rows": [{"row": r, "same_as_row": f} for r, f in self.duplicate_rows],
            "duplicates_in_bank": [{"row": r, "question_id": q} for r, q in self.duplicates_in_bank],
            "retired_in_bank": [{"row": r, "question_id": q} for r, q in self.retired_in_bank],
            "quality": self.quality.to_json() if self.quality else None,
            "summary": summary_line(self),
        }

    @classmethod
    def from_json(cls, data: dict) -> ImportReport:
        """Back from `to_json`: the report a worker stored, for the page to show as it shows its own."""
        return cls(
            filename=data["filename"],
            format=data["format"],
            written=bool(data.get("added")) and not data["dry_run"],
            dry_run=data["dry_run"],
            added=data["added"],
            problems=[Problem.from_json(p) for p in data["problems"]],
            notes=[Problem.from_json(p) for p in data["notes"]],
            converted_rows=list(data["converted_rows"]),
            conversions=dict(data["conversions"]),
            duplicate_rows=[(d["row"], d["same_as_row"]) for d in data["duplicate_rows"]],
            duplicates_in_bank=[(d["row"], d["question_id"]) for d in data["duplicates_in_bank"]],
            retired_in_bank=[(d["row"], d["question_id"]) for d in data["retired_in_bank"]],
            quality=QualityReport.from_json(data["quality"]) if data.get("quality") else None,
        )


def summary_line(report: ImportReport) -> str:
    if not report.ok:
        return (
            f"Không nhập được tệp {report.filename}: có {format_count(len(report.problems))} lỗi cần sửa. "
            f"Chưa có câu hỏi nào được ghi vào ngân hàng."
        )
    verb = "Có thể nhập" if report.dry_run else "Đã nhập"
    parts = [
        f"{verb} {format_count(report.added)} câu hỏi mới từ tệp {report.filename} "
        f"({FORMAT_LABELS.get(report.format, report.format)})"
    ]
    if report.duplicates_in_bank:
        parts.append(f"{format_count(len(report.duplicates_in_bank))} câu đã có trong ngân hàng nên bỏ qua")
    if report.retired_in_bank:
        parts.append(f"{format_count(len(report.retired_in_bank))} câu đã bị ngừng dùng nên không nhập lại")
    if report.duplicate_rows:
        parts.append(f"{format_count(len(report.duplicate_rows))} câu lặp lại trong tệp chỉ tính một lần")
    return "; ".join(parts) + "."


def report_lines(report: ImportReport) -> list[str]:
    """The report as plain Vietnamese lines: what the CLI prints and the page lists."""
    lines = [summary_line(report)]
    for problem in report.problems:
        lines.append(f"  - Lỗi {problem.describe()}")
    if report.converted_rows:
        used = ", ".join(report.conversion_labels)
        lines.append(
            f"  * Đã chuyển {format_count(len(report.converted_rows))} dòng gõ bằng phông chữ cũ sang Unicode "
            f"({used}); các dòng: {_row_list(report.converted_rows)}."
        )
    if report.duplicate_rows:
        pairs = [f"{row} (trùng dòng {first})" for row, first in report.duplicate_rows]
        lines.append(
            f"  * {format_count(len(pairs))} dòng lặp lại câu hỏi đã có ở dòng trước trong tệp, chỉ nhập một lần: "
            f"dòng {_row_list(pairs)}."
        )
    if report.duplicates_in_bank:
        lines.append(
            f"  * {format_count(len(report.duplicates_in_bank))} dòng đã có trong ngân hàng, bỏ qua: "
            f"dòng {_row_list([row for row, _ in report.duplicates_in_bank])}."
        )
    if report.retired_in_bank:
        pairs = [f"{row} (câu #{qid})" for row, qid in report.retired_in_bank]
        lines.append(
            f"  * {format_count(len(pairs))} dòng trùng câu hỏi đã ngừng dùng, không nhập lại "
            f"(muốn dùng lại, hãy mở câu đó và chọn Dùng lại): dòng {_row_list(pairs)}."
        )
    for note in report.notes:
        lines.append(f"  * {note.describe()}")
    if report.quality and report.quality.warnings:
        lines.append("  Báo cáo chất lượng (để tham khảo, không chặn việc nhập):")
        lines.extend(f"  ~ {warning}" for warning in report.quality.warnings)
    return lines


def quality_of(questions: list[ParsedQuestion]) -> QualityReport:
    """The quality report of an upload's questions, each named by its row in the file."""
    return check_bank(BankItem(q.text, q.options, q.answer_index, q.source, f"dòng {q.row}") for q in questions)


def _row_list(rows: list, shown: int = 30) -> str:
    text = ", ".join(str(r) for r in rows[:shown])
    return text + (f" … (và {format_count(len(rows) - shown)} dòng khác)" if len(rows) > shown else "")


# --- importing ------------------------------------------------------------------------------


async def _existing_by_key(
    db: AsyncSession, contest_id: int, with_right_option: bool = True
) -> tuple[dict[str, tuple[int, str | None]], dict[str, list[tuple[int, str | None]]]]:
    """(active question by key, retired questions by key) of the whole contest, each as (id, its
    right option as `comparable` text). One query: a bank holds thousands of questions at most,
    and long IN lists per chunk are far slower on PostgreSQL, planned once on a still-empty table."""
    active: dict[str, tuple[int, str | None]] = {}
    retired: dict[str, list[tuple[int, str | None]]] = {}
    query = select(Question.text_key, Question.id, Question.retired)
    if with_right_option:
        query = query.add_columns(Option.text).outerjoin(
            Option, (Option.question_id == Question.id) & Option.is_correct.is_(True)
        )
    right: list[str | None]
    for key, question_id, is_retired, *right in await db.execute(
        query.where(Question.contest_id == contest_id).order_by(Question.id)
    ):
        entry = (question_id, comparable(right[0]) if right and right[0] is not None else None)
        if is_retired:
            retired.setdefault(key, []).append(entry)
        else:
            active[key] = entry
    return active, retired


async def write_questions(
    db: AsyncSession,
    contest_id: int,
    parsed: list[ParsedQuestion],
    report: ImportReport,
    progress: Callable[[int, int], None] | None = None,
    commit: bool = True,
) -> None:
    """Adds the parsed questions not already in the bank, in one transaction. The same wording
    with the same options and right option as an active question is a duplicate; one only found
    retired is not brought back by an import (the organizer retired it on purpose): importing the
    same file twice changes nothing. The same wording and options as an active question with
    another right option is a problem, and then nothing is written (never "done" with a question
    dropped): the organizer corrects the file, or the bank's key by editing or re-grading."""
    keyed = [(question_key(q.text, q.options), q) for q in parsed]
    if db.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        # Two imports into one contest at once (two organizers, a double click) take turns, so
        # the second sees the first's questions as duplicates instead of failing on the unique
        # index. SQLite transactions already take turns (BEGIN IMMEDIATE, app/core/db.py).
        await db.execute(
            text("SELECT pg_advisory_xact_lock(:space, :contest)"), {"space": _BANK_LOCK_SPACE, "contest": contest_id}
        )
    active, retired = await _existing_by_key(db, contest_id)
    fresh: list[tuple[str, ParsedQuestion]] = []
    for key, q in keyed:
        right = right_option(q)
        if key in active:
            question_id, bank_right = active[key]
            if bank_right == right:
                report.duplicates_in_bank.append((q.row, question_id))
            else:
                report.problems.append(
                    Problem(
                        q.row,
                        None,
                        (
                            f"Câu hỏi và các phương án giống câu #{question_id} đang có trong ngân hàng nhưng đáp án khác "
                            f"(tệp: {LETTERS[q.answer_index]}). Nếu đáp án trong ngân hàng sai, hãy sửa câu #{question_id} "
                            f"(hoặc chấm lại nếu đợt thi đã chốt); nếu tệp sai, hãy sửa dòng này."
                        ),
                    )
                )
        elif any(bank_right == right for _, bank_right in retired.get(key, ())):
            report.retired_in_bank.append((q.row, next(i for i, r in retired[key] if r == right)))
        else:
            fresh.append((key, q))
    if report.problems:
        report.duplicates_in_bank.clear()
        report.retired_in_bank.clear()
        return
    report.added = len(fresh)
    if report.dry_run:
        return
    now = utcnow()
    total = len(fresh)
    # Core executemany, one round trip per chunk instead of an ORM flush per question. The new ids
    # are then read back by text key, unique among the contest's active questions (RETURNING in
    # parameter order would make SQLAlchemy fall back to one INSERT per row on SQLite).
    for start in range(0, total, _CHUNK):
        await db.execute(
            insert(Question.__table__),  # type: ignore[arg-type]
            [
                {
                    "contest_id": contest_id,
                    "text": q.text,
                    "text_key": key,
                    "topic": q.topic,
                    "difficulty": q.difficulty,
                    "explanation": q.explanation,
                    "source": getattr(q, "source", None),
                    "retired": False,
                    "created_at": now,
                    "search_key": search_key(q.text, q.options),
                }
                for key, q in fresh[start : start + _CHUNK]
            ],
        )
        if progress:
            progress(min(start + _CHUNK, total) // 2, total)
    if fresh:
        ids, _ = await _existing_by_key(db, contest_id, with_right_option=False)
        for start in range(0, total, _CHUNK):
            await db.execute(
                insert(Option.__table__),  # type: ignore[arg-type]
                [
                    {"question_id": ids[key][0], "position": i, "text": text, "is_correct": i == q.answer_index}
                    for key, q in fresh[start : start + _CHUNK]
                    for i, text in enumerate(q.options)
                ],
            )
            if progress:
                progress((total + min(start + _CHUNK, total)) // 2, total)
    report.written = bool(fresh)
    if commit:
        await db.commit()


async def import_bank(
    db: AsyncSession,
    contest_id: int,
    data: bytes,
    filename: str,
    *,
    actor: StaffAccess | None = None,
    limits: ImportLimits = ImportLimits(),
    dry_run: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    commit: bool = True,
) -> ImportReport:
    """Parses a bank file and, when it has no problem at all, writes its new questions. Nothing
    is written when any row is invalid. `progress(stage, done, total)` is told how far it got.
    With `commit=False` a valid import is left in the session's open transaction, for the
    caller to commit with its own record (a queued import marks itself done in the same one)."""
    if progress:
        progress("parse", 0, 1)
    # In a worker thread: reading a large file takes seconds of CPU, and the event loop must
    # keep serving participants meanwhile.
    result: ParseResult = await asyncio.to_thread(parse_bank_file, data, filename, limits)
    if progress:
        progress("parse", 1, 1)
    report = ImportReport(
        filename=filename,
        format=result.format,
        dry_run=dry_run,
        problems=list(result.problems),
        notes=list(result.notes),
        converted_rows=list(result.converted_rows),
        conversions=dict(result.conversions),
        duplicate_rows=list(result.duplicate_rows),
    )
    if not result.ok:
        return report
    report.quality = await asyncio.to_thread(quality_of, result.questions)
    await write_questions(
        db,
        contest_id,
        result.questions,
        report,
        commit=False,
        progress=(lambda done, total: progress("write", done, total)) if progress else None,
    )
    if not report.ok:
        await db.rollback()
        return report
    if not dry_run:
        audit.record(
            db,
            actor,
            "bank.import",
            contest_id=contest_id,
            target=f"contest:{contest_id}",
            after={
                "filename": filename,
                "format": report.format,
                "added": report.added,
                "duplicates_in_bank": len(report.duplicates_in_bank),
                "converted_rows": len(report.converted_rows),
            },
        )
        if commit:
            await db.commit()
    return report


# --- browsing -------------------------------------------------------------------------------

ACTIVE, RETIRED, ALL = "active", "retired", "all"


@dataclass(frozen=True)
class QuestionPage:
    items: list[Question]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


async def list_questions(
    db: AsyncSession,
    contest_id: int,
    *,
    search: str | None = None,
    topic: str | None = None,
    difficulty: int | None = None,
    status: str = ACTIVE,
    page: int = 1,
    per_page: int = 50,
) -> QuestionPage:
    """A page of the bank, newest last, with its options. `search` matches words of the question
    or its options (case-insensitive), or "#123" / "123" for a question id."""
    conditions = [Question.contest_id == contest_id]
    if status == ACTIVE:
        conditions.append(Question.retired.is_(False))
    elif status == RETIRED:
        conditions.append(Question.retired.is_(True))
    topic = clean_text(topic or "")  # as topics are stored (and without NUL, which PostgreSQL refuses)
    if topic:
        conditions.append(Question.topic == topic)
    if difficulty:
        conditions.append(Question.difficulty == difficulty)
    search = clean_text(search or "")
    if search:
        number = search.lstrip("#")
        pattern = f"%{_escape_like(strip_accents(search).lower())}%"
        matches: list[ColumnElement[bool]] = [
            Question.search_key.like(pattern, escape="\\"),
            # Rows written by other code paths without a search key.
            func.lower(Question.text).like(f"%{_escape_like(search.lower())}%", escape="\\"),
        ]
        if number.isascii() and number.isdigit() and len(number) < 10:
            matches.append(Question.id == int(number))
        conditions.append(or_(*matches))
    total = await db.scalar(select(func.count()).select_from(Question).where(*conditions))
    page = max(1, page)
    items = (
        await db.scalars(
            select(Question)
            .where(*conditions)
            .options(selectinload(Question.options))
            .order_by(Question.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    return QuestionPage(list(items), total or 0, page, per_page)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def get_question(db: AsyncSession, contest_id: int, question_id: int) -> Question:
    question = await db.scalar(
        select(Question)
        .where(Question.id == question_id, Question.contest_id == contest_id)
        .options(selectinload(Question.options))
    )
    if question is None:
        raise NotFound("question_not_found", "Không tìm thấy câu hỏi này trong ngân hàng của cuộc thi.")
    return question


@dataclass(frozen=True)
class BankCounts:
    active: int
    retired: int
    by_topic: dict[str, dict[int, int]]  # topic ("" = none) -> difficulty -> active questions
    by_difficulty: dict[int, int]

    def to_json(self) -> dict:
        return {
            "active": self.active,
            "retired": self.retired,
            "by_difficulty": {DIFFICULTY_LABELS[d]: n for d, n in sorted(self.by_difficulty.items())},
            "by_topic": [
                {
                    "topic": t or None,
                    "total": sum(c.values()),
                    **{DIFFICULTY_LABELS[d]: c.get(d, 0) for d in DIFFICULTY_LABELS},
                }
                for t, c in sorted(self.by_topic.items())
            ],
        }


async def bank_counts(db: AsyncSession, contest_id: int) -> BankCounts:
    """Active questions by topic and difficulty: what round quotas can draw from."""
    by_topic: dict[str, dict[int, int]] = {}
    by_difficulty = {d: 0 for d in DIFFICULTY_LABELS}
    active = 0
    for topic, difficulty, count in await db.execute(
        select(Question.topic, Question.difficulty, func.count())
        .where(Question.contest_id == contest_id, Question.retired.is_(False))
        .group_by(Question.topic, Question.difficulty)
    ):
        by_topic.setdefault(topic or "", {})[difficulty] = count
        by_difficulty[difficulty] = by_difficulty.get(difficulty, 0) + count
        active += count
    retired = await db.scalar(
        select(func.count()).select_from(Question).where(Question.contest_id == contest_id, Question.retired.is_(True))
    )
    return BankCounts(active, retired or 0, by_topic, by_difficulty)


async def topics(db: AsyncSession, contest_id: int) -> list[str]:
    rows = await db.scalars(
        select(Question.topic)
        .where(Question.contest_id == contest_id, Question.topic.is_not(None))
        .distinct()
        .order_by(Question.topic)
    )
    return list(rows)  # type: ignore[arg-type]  # topic IS NOT NULL in the query


# --- editing and retiring -------------------------------------------------------------------


@dataclass(frozen=True)
class QuestionInput:
    text: str
    options: list[str]
    answer: str  # letter, "A".."F" (same forms as the Excel template)
    topic: str | None = None
    difficulty: str | int | None = None
    explanation: str | None = None
    source: str | None = None  # "Nguồn", staff only


def validate_input(data: QuestionInput) -> tuple[ParsedQuestion | None, list[Problem]]:
    """The same rules as a row of the Excel template; problems name the form's fields."""
    problems: list[Problem] = []
    text = clean_text(data.text or "")
    if not text:
        problems.append(Problem(None, "Câu hỏi", "Thiếu nội dung câu hỏi"))
    options = [clean_text(o or "") or None for o in data.options][: len(LETTERS)]
    while options and options[-1] is None:
        options.pop()
    message: str | None
    for position, message in check_options(options):
        problems.append(Problem(None, f"Phương án {LETTERS[position]}", message))
    answer_index, message = parse_answer(clean_text(str(data.answer or "")), options)
    if message:
        problems.append(Problem(None, "Đáp án", message))
    difficulty, message = parse_difficulty(
        clean_text(str(data.difficulty)) if data.difficulty not in (None, "") else None
    )
    if message:
        problems.append(Problem(None, "Mức độ", message))
    topic = clean_text(data.topic or "") or None
    if topic and len(topic) > 200:
        problems.append(Problem(None, "Chủ đề", "Tên chủ đề tối đa 200 ký tự"))
    if problems:
        return None, problems
    return ParsedQuestion(
        row=0,
        text=text,
        options=tuple(o for o in options if o),
        answer_index=answer_index,  # type: ignore[arg-type]  # no problem: the answer was found
        topic=topic,
        difficulty=difficulty,
        explanation=clean_text(data.explanation or "") or None,
        source=clean_text(data.source or "") or None,
    ), []


def _snapshot(question: Question) -> dict:
    return {
        "id": question.id,
        "text": question.text,
        "options": [o.text for o in question.options],
        "answer": LETTERS[next(i for i, o in enumerate(question.options) if o.is_correct)],
        "topic": question.topic,
        "difficulty": question.difficulty,
        "explanation": question.explanation,
        "source": question.source,
        "retired": question.retired,
    }


class InvalidQuestion(Invalid):
    def __init__(self, problems: list[Problem]):
        super().__init__(
            "invalid_question",
            "; ".join(f"{p.column}: {p.message}" for p in problems),
            details=[p.to_json() for p in problems],
        )
        self.problems = problems


async def edit_question(
    db: AsyncSession, actor: StaffAccess | None, contest_id: int, question_id: int, data: QuestionInput
) -> Question:
    """Retires the question and adds the corrected copy, which is what participants draw from now
    on. Past attempts keep the old question, exactly as they saw it."""
    old = await get_question(db, contest_id, question_id)
    if old.retired:
        raise Conflict("question_retired", "Câu hỏi này đã ngừng dùng. Hãy chọn Dùng lại trước khi sửa.")
    parsed, problems = validate_input(data)
    if problems:
        raise InvalidQuestion(problems)
    assert parsed is not None  # no problem, hence a question
    before = _snapshot(old)
    if (
        parsed.text,
        list(parsed.options),
        LETTERS[parsed.answer_index],
        parsed.topic,
        parsed.difficulty,
        parsed.explanation,
        parsed.source,
    ) == (old.text, before["options"], before["answer"], old.topic, old.difficulty, old.explanation, old.source):
        return old  # nothing changed: no new version
    key = question_key(parsed.text, parsed.options)
    clash = await db.scalar(
        select(Question.id).where(
            Question.contest_id == contest_id,
            Question.text_key == key,
            Question.retired.is_(False),
            Question.id != old.id,
        )
    )
    if clash is not None:
        raise Conflict("duplicate_question", f"Ngân hàng đã có câu hỏi cùng nội dung và phương án (câu #{clash}).")
    await _retire(db, old)
    new = Question(
        contest_id=contest_id,
        text=parsed.text,
        text_key=key,
        topic=parsed.topic,
        difficulty=parsed.difficulty,
        explanation=parsed.explanation,
        source=parsed.source,
        replaces_id=old.id,
        search_key=search_key(parsed.text, parsed.options),
    )
    new.options = [
        Option(position=i, text=t, is_correct=i == parsed.answer_index) for i, t in enumerate(parsed.options)
    ]
    db.add(new)
    try:
        await db.flush()
    except IntegrityError as error:
        # Someone else saved a question with this text (or corrected this one) a moment ago.
        await db.rollback()
        raise Conflict(
            "question_changed",
            "Câu hỏi vừa được sửa ở nơi khác hoặc trùng nội dung với một câu vừa thêm. Hãy tải lại trang và thử lại.",
        ) from error
    audit.record(
        db,
        actor,
        "question.edit",
        contest_id=contest_id,
        target=f"question:{old.id}",
        before=before,
        after={"id": new.id, **{k: v for k, v in _snapshot(new).items() if k != "id"}},
    )
    await db.commit()
    return await get_question(db, contest_id, new.id)


async def _retire(db: AsyncSession, question: Question) -> None:
    # A plain UPDATE first: the partial unique index must see the old row retired before the
    # corrected copy (which may keep the same text) is inserted.
    await db.execute(update(Question).where(Question.id == question.id).values(retired=True, retired_at=utcnow()))
    question.retired = True


async def retire_question(db: AsyncSession, actor: StaffAccess | None, contest_id: int, question_id: int) -> Question:
    """Never drawn again; attempts that already hold it are unchanged."""
    question = await get_question(db, contest_id, question_id)
    if not question.retired:
        await _retire(db, question)
        audit.record(
            db,
            actor,
            "question.retire",
            contest_id=contest_id,
            target=f"question:{question_id}",
            before={"retired": False},
            after={"retired": True},
        )
        await db.commit()
    return await get_question(db, contest_id, question_id)


async def restore_question(db: AsyncSession, actor: StaffAccess | None, contest_id: int, question_id: int) -> Question:
    question = await get_question(db, contest_id, question_id)
    if question.retired:
        clash = await db.scalar(
            select(Question.id).where(
                Question.contest_id == contest_id, Question.text_key == question.text_key, Question.retired.is_(False)
            )
        )
        if clash is not None:
            raise Conflict(
                "duplicate_question",
                f"Không dùng lại được: câu #{clash} đang dùng cùng nội dung và phương án "
                f"(thường là bản đã sửa của câu này).",
            )
        await db.execute(update(Question).where(Question.id == question_id).values(retired=False, retired_at=None))
        audit.record(
            db,
            actor,
            "question.restore",
            contest_id=contest_id,
            target=f"question:{question_id}",
            before={"retired": True},
            after={"retired": False},
        )
        await db.commit()
    db.expire_all()
    return await get_question(db, contest_id, question_id)


async def all_active_questions(db: AsyncSession, contest_id: int) -> list[Question]:
    return list(
        (
            await db.scalars(
                select(Question)
                .where(Question.contest_id == contest_id, Question.retired.is_(False))
                .options(selectinload(Question.options))
                .order_by(Question.id)
            )
        ).all()
    )
