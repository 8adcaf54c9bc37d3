"""Contest and round administration: plain functions the console pages, the API and tests call.

Every change is validated completely before anything is written, and written together with its
audit entry (before/after) in one transaction."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.cache import AttemptCache
from app.attempts.models import Attempt
from app.attempts.paper import quota_problems
from app.attempts.service import cap_open_deadlines
from app.contests.models import Contest, PrizePlan, Round
from app.contests.service import get_round, round_cache
from app.core.clock import to_local, truncate_ms, utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.core.textnorm import clean_text, strip_accents
from app.core.timeinput import parse_local
from app.judging.frozen import require_not_frozen
from app.questions.models import DIFFICULTY_LABELS
from app.questions.service import load_pool
from app.staff import audit
from app.staff.roles import EDIT_CONTEST, StaffAccess

# Limits from the domain (typical values and their ranges).
QUESTIONS_RANGE = (10, 50)
MINUTES_RANGE = (5, 60)
ATTEMPTS_RANGE = (1, 5)
CONTEST_FIELDS = ("title", "slug", "organizer_name", "description", "rules_text", "published")
ROUND_FIELDS = (
    "name",
    "open_at",
    "close_at",
    "questions_per_attempt",
    "time_limit_seconds",
    "attempts_allowed",
    "quotas",
    "prediction_enabled",
    "prediction_question",
)
# Changing these once someone has sat the round would make papers of one round incomparable.
PAPER_FIELDS = ("questions_per_attempt", "time_limit_seconds", "quotas")
PRIZE_TIERS = ("first", "second", "third", "consolation")
PRIZE_LABELS = {"first": "Giải Nhất", "second": "Giải Nhì", "third": "Giải Ba", "consolation": "Giải Khuyến khích"}


class FormInvalid(Invalid):
    """Several field errors at once: {field: Vietnamese message}."""

    def __init__(self, fields: dict[str, str]):
        super().__init__(
            "invalid_form", "Thông tin chưa hợp lệ: " + " ".join(fields.values()), details={"fields": fields}
        )
        self.fields = fields


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(text).lower()).strip("-")
    return slug[:70] or "cuoc-thi"


def _snapshot(obj, names) -> dict:
    return {n: getattr(obj, n) for n in names}


# --- contests -------------------------------------------------------------------------------


@dataclass
class ContestData:
    title: str
    rules_text: str = ""
    description: str = ""
    organizer_name: str | None = None
    slug: str | None = None
    published: bool = True


def _check_contest(data: ContestData) -> ContestData:
    errors = {}
    title = clean_text(data.title or "")
    if not 5 <= len(title) <= 300:
        errors["title"] = "Tên cuộc thi phải có từ 5 đến 300 ký tự."
    slug = slugify(data.slug or title)
    if data.slug and not re.fullmatch(r"[a-z0-9-]{3,80}", data.slug):
        errors["slug"] = "Đường dẫn chỉ gồm chữ thường không dấu, số và dấu gạch ngang (3–80 ký tự)."
    if len(data.rules_text or "") > 50_000:
        errors["rules_text"] = "Thể lệ quá dài (tối đa 50.000 ký tự)."
    if errors:
        raise FormInvalid(errors)
    return ContestData(
        title=title,
        rules_text=(data.rules_text or "").strip(),
        description=clean_text(data.description or ""),
        organizer_name=clean_text(data.organizer_name) if data.organizer_name else None,
        slug=data.slug or slug,
        published=bool(data.published),
    )


async def create_contest(db: AsyncSession, actor: StaffAccess, data: ContestData) -> Contest:
    actor.require_admin()
    data = _check_contest(data)
    contest = Contest(
        title=data.title,
        slug=data.slug,
        rules_text=data.rules_text,
        description=data.description,
        organizer_name=data.organizer_name,
        published=data.published,
    )
    db.add(contest)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise FormInvalid({"slug": "Đường dẫn này đã được cuộc thi khác dùng."}) from exc
    audit.record(
        db,
        actor,
        "contest.create",
        contest_id=contest.id,
        target=f"contest:{contest.id}",
        after=_snapshot(contest, CONTEST_FIELDS),
    )
    await db.commit()
    return contest


async def get_contest_for(db: AsyncSession, actor: StaffAccess, contest_id: int, permission: str) -> Contest:
    contest = await db.get(Contest, contest_id)
    if contest is None:
        raise NotFound("contest_not_found", "Không tìm thấy cuộc thi.")
    actor.require(permission, contest_id)
    return contest


async def update_contest(db: AsyncSession, actor: StaffAccess, contest_id: int, data: ContestData) -> Contest:
    contest = await get_contest_for(db, actor, contest_id, EDIT_CONTEST)
    data = _check_contest(data)
    before = _snapshot(contest, CONTEST_FIELDS)
    for name in CONTEST_FIELDS:
        setattr(contest, name, getattr(data, name))
    after = _snapshot(contest, CONTEST_FIELDS)
    changed = {k for k in after if before[k] != after[k]}
    if changed:
        audit.record(
            db,
            actor,
            "contest.update",
            contest_id=contest_id,
            target=f"contest:{contest_id}",
            before={k: before[k] for k in changed},
            after={k: after[k] for k in changed},
        )
    try:
        await db.commit()
    except IntegrityError as exc:
        await db.rollback()
        raise FormInvalid({"slug": "Đường dẫn này đã được cuộc thi khác dùng."}) from exc
    return contest


# --- rounds -------------------------------------------------------------------------------


@dataclass
class RoundData:
    name: str
    open_at: str | datetime
    close_at: str | datetime
    questions_per_attempt: int = 20
    time_limit_minutes: int = 15
    attempts_allowed: int = 2
    quotas: list[dict] = field(default_factory=list)  # [{topic, difficulty, count}]
    prediction_enabled: bool = True
    prediction_question: str | None = None
    prizes: dict[str, int] = field(default_factory=lambda: {"first": 1, "second": 2, "third": 3, "consolation": 10})


def _int_in(errors: dict, name: str, value, low: int, high: int, label: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors[name] = f"{label} phải là số nguyên."
        return low
    if not low <= number <= high:
        errors[name] = f"{label} phải từ {low} đến {high}."
    return number


def _normalize_quotas(errors: dict, raw: list[dict]) -> list[dict]:
    quotas = []
    for i, item in enumerate(raw or [], start=1):
        topic = clean_text(str(item.get("topic") or "")) or None
        difficulty = item.get("difficulty") or None
        if difficulty is not None:
            try:
                difficulty = int(difficulty)
                assert difficulty in DIFFICULTY_LABELS
            except (ValueError, AssertionError):
                errors["quotas"] = f"Cơ cấu đề dòng {i}: mức độ phải là Dễ, Trung bình hoặc Khó."
                continue
        count = _int_in(errors, "quotas", item.get("count"), 1, QUESTIONS_RANGE[1], f"Cơ cấu đề dòng {i}: số câu")
        if topic is None and difficulty is None:
            errors["quotas"] = f"Cơ cấu đề dòng {i}: hãy chọn chủ đề hoặc mức độ."
            continue
        quotas.append({"topic": topic, "difficulty": difficulty, "count": count})
    return quotas


async def _check_round(db: AsyncSession, contest_id: int, data: RoundData) -> dict:
    errors: dict[str, str] = {}
    values: dict = {"name": clean_text(data.name or "")}
    if not 2 <= len(values["name"]) <= 200:
        errors["name"] = "Tên đợt thi phải có từ 2 đến 200 ký tự."
    for name in ("open_at", "close_at"):
        try:
            values[name] = parse_local(getattr(data, name))
        except ValueError as exc:
            errors[name] = str(exc)
    if "open_at" in values and "close_at" in values and values["close_at"] <= values["open_at"]:
        errors["close_at"] = "Thời điểm đóng phải sau thời điểm mở."
    values["questions_per_attempt"] = _int_in(
        errors, "questions_per_attempt", data.questions_per_attempt, *QUESTIONS_RANGE, "Số câu mỗi lượt"
    )
    values["time_limit_seconds"] = 60 * _int_in(
        errors, "time_limit_minutes", data.time_limit_minutes, *MINUTES_RANGE, "Thời gian làm bài (phút)"
    )
    values["attempts_allowed"] = _int_in(
        errors, "attempts_allowed", data.attempts_allowed, *ATTEMPTS_RANGE, "Số lượt thi được phép"
    )
    values["quotas"] = _normalize_quotas(errors, data.quotas)
    values["prediction_enabled"] = bool(data.prediction_enabled)
    if data.prediction_question:
        values["prediction_question"] = clean_text(data.prediction_question)[:1000]
    prizes = {}
    for tier in PRIZE_TIERS:
        prizes[tier] = _int_in(
            errors, "prizes", (data.prizes or {}).get(tier, 0), 0, 10_000, f"Số {PRIZE_LABELS[tier].lower()}"
        )
    if "questions_per_attempt" not in errors and "quotas" not in errors:
        problems = quota_problems(await load_pool(db, contest_id), values["questions_per_attempt"], values["quotas"])
        if problems:
            errors["quotas"] = " ".join(problems)
    if errors:
        raise FormInvalid(errors)
    return values | {"prizes": prizes}


def round_state(round_: Round, plan: PrizePlan | None) -> dict:
    state = _snapshot(round_, ROUND_FIELDS)
    if plan is not None:
        state["prizes"] = {t: getattr(plan, t) for t in PRIZE_TIERS}
    return state


async def create_round(db: AsyncSession, actor: StaffAccess, contest_id: int, data: RoundData) -> Round:
    await get_contest_for(db, actor, contest_id, EDIT_CONTEST)
    values = await _check_round(db, contest_id, data)
    prizes = values.pop("prizes")
    round_ = Round(contest_id=contest_id, **values)
    db.add(round_)
    await db.flush()
    plan = PrizePlan(round_id=round_.id, **prizes)
    db.add(plan)
    audit.record(
        db,
        actor,
        "round.create",
        contest_id=contest_id,
        round_id=round_.id,
        target=f"round:{round_.id}",
        after=round_state(round_, plan),
    )
    await db.commit()
    return round_


async def get_round_for(db: AsyncSession, actor: StaffAccess, round_id: int, permission: str) -> Round:
    round_ = await get_round(db, round_id)
    actor.require(permission, round_.contest_id)
    return round_


async def prize_plan(db: AsyncSession, round_id: int) -> PrizePlan:
    return await db.get(PrizePlan, round_id) or PrizePlan(round_id=round_id, first=1, second=2, third=3, consolation=10)


async def update_round(
    db: AsyncSession, actor: StaffAccess, round_id: int, data: RoundData, cache: AttemptCache | None = None
) -> Round:
    """Edits a round. Its results are never left behind by its times:
    - a frozen round (results closed by the judges) is not edited at all (`RoundFrozen`);
    - once someone has sat it, its paper settings stay, its opening cannot move after the first
      attempt began, and a close typed in the past means "now" (nothing accepted so far ends up
      after the close);
    - moving the close earlier CAPS the deadline of every attempt still open at the new close,
      in the same transaction: those participants keep what they saved, may go on answering until
      the new close, and are then closed with their saved answers like any attempt at its deadline.
      Capping rather than refusing: organizers move a close earlier for a reason (an error in the
      announced time, an incident) and expect the round to end then for everyone; refusing would
      leave them unable to end it until the last open attempt runs out. Nobody loses an answer:
      what was saved counts, only the time left shrinks. `cache`: the attempt cache, whose copies
      of the capped attempts are dropped after the commit (the database decides either way)."""
    round_ = await get_round_for(db, actor, round_id, EDIT_CONTEST)
    await require_not_frozen(db, round_id)
    values = await _check_round(db, round_.contest_id, data)
    prizes = values.pop("prizes")
    plan = await db.get(PrizePlan, round_id)
    before = round_state(round_, plan)
    started, first_start = (
        await db.execute(select(func.count(), func.min(Attempt.started_at)).where(Attempt.round_id == round_id))
    ).one()
    capped: list[int] = []
    if started:
        changed = [n for n in PAPER_FIELDS if values.get(n, getattr(round_, n)) != getattr(round_, n)]
        if changed:
            raise Conflict(
                "round_started",
                f"Đợt thi đã có {started} lượt thi: không thể đổi số câu, thời gian làm "
                "bài hay cơ cấu đề (các bài thi sẽ không còn so sánh được với nhau).",
            )
        if values["open_at"] > first_start:
            raise FormInvalid(
                {
                    "open_at": "Đã có người bắt đầu thi lúc "
                    f"{to_local(first_start):%H:%M:%S %d/%m/%Y}: thời điểm mở không thể muộn hơn."
                }
            )
        now = truncate_ms(utcnow())
        if values["close_at"] != round_.close_at and values["close_at"] < now:
            # "End it now", typed to the minute (already begun): the round closes NOW, never
            # before answers that were accepted and submissions that were made.
            values["close_at"] = now
        if values["close_at"] < round_.close_at:
            capped = await cap_open_deadlines(db, round_id, values["close_at"])
    for name, value in values.items():
        setattr(round_, name, value)
    if plan is None:
        plan = PrizePlan(round_id=round_id)
        db.add(plan)
    for tier, value in prizes.items():
        setattr(plan, tier, value)
    after = round_state(round_, plan)
    changed_keys = {k for k in after if before.get(k) != after[k]}
    if changed_keys:
        audit.record(
            db,
            actor,
            "round.update",
            contest_id=round_.contest_id,
            round_id=round_id,
            target=f"round:{round_id}",
            before={k: before.get(k) for k in changed_keys},
            after={k: after[k] for k in changed_keys} | ({"capped_attempts": len(capped)} if capped else {}),
        )
    await db.commit()
    round_cache(db).clear()
    if cache is not None:
        for attempt_id in capped:
            await cache.forget(attempt_id)
    return round_


def round_data_from_form(form) -> RoundData:
    """The console's round form: quotas as lines "chủ đề | mức độ | số câu"."""
    quotas = []
    for line in str(form.get("quotas", "")).splitlines():
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split("|")]
        while len(parts) < 3:
            parts.insert(1, "")
        difficulty = {"de": 1, "trung binh": 2, "kho": 3, "1": 1, "2": 2, "3": 3}.get(
            strip_accents(parts[1]).lower(), parts[1] or None
        )
        quotas.append({"topic": parts[0] or None, "difficulty": difficulty, "count": parts[2]})
    return RoundData(
        name=str(form.get("name", "")),
        open_at=str(form.get("open_at", "")),
        close_at=str(form.get("close_at", "")),
        questions_per_attempt=form.get("questions_per_attempt", 20),
        time_limit_minutes=form.get("time_limit_minutes", 15),
        attempts_allowed=form.get("attempts_allowed", 2),
        quotas=quotas,
        prediction_enabled=form.get("prediction_enabled") == "1",
        prediction_question=str(form.get("prediction_question", "")) or None,
        prizes={t: form.get(f"prize_{t}", 0) for t in PRIZE_TIERS},
    )


def quotas_text(quotas: list[dict]) -> str:
    return "\n".join(
        f"{q.get('topic') or ''} | {DIFFICULTY_LABELS.get(q.get('difficulty') or 0, '')} | {q['count']}"
        for q in quotas or []
    )


async def bank_counts(db: AsyncSession, contest_id: int) -> tuple[int, Counter, Counter]:
    pool = await load_pool(db, contest_id)
    return len(pool), Counter(e.topic or "(không có chủ đề)" for e in pool), Counter(e.difficulty for e in pool)


def contest_data_from_form(form) -> ContestData:
    return ContestData(
        title=str(form.get("title", "")),
        rules_text=str(form.get("rules_text", "")),
        description=str(form.get("description", "")),
        organizer_name=str(form.get("organizer_name", "")) or None,
        slug=str(form.get("slug", "")).strip() or None,
        published=form.get("published") == "1",
    )
