"""The six exports of a round. Each is `async def write_<kind>(db, round_id, path, progress)`:
it reads what it needs, streams rows into an XlsxExport and returns the number of rows.

Ranking and prize list come from a frozen snapshot (never recomputed at export time); the
statistics use the latest snapshot's counted attempts when the round is closed, else the live
data at export time, and every file says which (with the digest when there is one)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import SUBMITTED, Attempt, AttemptAnswer
from app.contests.editing import PRIZE_LABELS, PRIZE_TIERS, prize_plan
from app.contests.lists import contest_units
from app.contests.models import Contest, ContestLocality, Round
from app.contests.service import get_round
from app.core.clock import to_local, utcnow
from app.core.errors import Conflict, NotFound
from app.core.textnorm import clean_text, group_key
from app.exports.xlsx import Column, Progress, XlsxExport
from app.judging.models import RankingSnapshot
from app.judging.snapshots import get_snapshot, iter_rows, latest_snapshot
from app.leaderboard.ranking import RankedEntry, final_ranking
from app.outreach.service import invitation_counts
from app.questions.models import DIFFICULTY_LABELS, Option, Question

LETTERS = "ABCDEF"
GENDERS = {"male": "Nam", "female": "Nữ", "other": "Khác"}


def _fmt(value) -> str:
    return to_local(value).strftime("%H:%M %d/%m/%Y") if value else ""


@dataclass
class Context:
    contest: Contest
    round: Round
    snapshot: RankingSnapshot | None

    def info_lines(self) -> list[str]:
        lines = [
            f"Cuộc thi: {self.contest.title}",
            f"Đợt thi: {self.round.name} (từ {_fmt(self.round.open_at)} đến {_fmt(self.round.close_at)})",
        ]
        if self.snapshot is not None:
            s = self.snapshot
            truth = "" if s.truth is None else f"; số người trả lời đúng tất cả (T) = {s.truth}"
            lines.append(
                f"Kết quả chốt lần {s.version} lúc {_fmt(s.created_at)} bởi {s.created_by_name}{truth}; "
                f"{s.row_count} người dự thi"
            )
            lines.append(f"Mã kiểm tra SHA-256 của bảng kết quả: {s.digest}")
        else:
            lines.append("Đợt thi chưa chốt kết quả: số liệu tính đến thời điểm xuất tệp (chưa có mã SHA-256).")
        lines.append(f"Xuất lúc {_fmt(utcnow())}. Mọi thời gian theo giờ Việt Nam (UTC+7).")
        return lines


async def context_of(db: AsyncSession, round_id: int, snapshot_id: int | None = None) -> Context:
    round_ = await get_round(db, round_id)
    contest = await db.get(Contest, round_.contest_id)
    snapshot: RankingSnapshot | None
    if snapshot_id is not None:
        snapshot = await get_snapshot(db, snapshot_id)
        if snapshot.round_id != round_id:
            raise NotFound("snapshot_not_found", "Không tìm thấy bảng kết quả đã chốt của đợt thi này.")
    else:
        snapshot = await latest_snapshot(db, round_id)
    return Context(contest, round_, snapshot)  # type: ignore[arg-type]  # a round's contest exists (foreign key)


def _require_snapshot(ctx: Context) -> RankingSnapshot:
    if ctx.snapshot is None:
        raise Conflict(
            "round_not_closed",
            "Đợt thi chưa được Ban giám khảo chốt kết quả: chưa thể xuất bảng xếp hạng hay danh sách giải.",
        )
    return ctx.snapshot


async def counted_rows(db: AsyncSession, ctx: Context) -> list[RankedEntry]:
    """One row per participant (their counted attempt): frozen if closed, else computed now."""
    if ctx.snapshot is not None:
        return [row async for row in iter_rows(db, ctx.snapshot.id)]
    return await final_ranking(db, ctx.round.id, ctx.round.prediction_truth)


# --- final ranking --------------------------------------------------------------------------

RANKING_COLUMNS = [
    Column("Hạng", 7, "int"),
    Column("Họ và tên", 26),
    Column("Đơn vị", 30),
    Column("Tỉnh/Thành phố", 16),
    Column("Quận/Huyện", 16),
    Column("Xã/Phường", 16),
    Column("Số câu đúng", 9, "int"),
    Column("Tổng số câu", 9, "int"),
    Column("Dự đoán", 10, "int"),
    Column("Chênh lệch dự đoán", 11, "int"),
    Column("Thời gian làm bài (giây)", 12, "float"),
    Column("Nộp bài lúc", 20, "datetime"),
    Column("Mã lượt thi", 11, "int"),
]


def ranking_cells(row: RankedEntry) -> tuple:
    return (
        row.position,
        row.full_name,
        row.unit,
        row.province,
        row.district,
        row.commune,
        row.correct,
        row.total,
        row.prediction,
        row.distance,
        row.time_ms / 1000,
        row.submitted_at,
        row.attempt_id,
    )


async def write_ranking(
    db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None, snapshot_id: int | None = None
) -> int:
    ctx = await context_of(db, round_id, snapshot_id)
    snapshot = _require_snapshot(ctx)
    export = XlsxExport(path, f"BẢNG XẾP HẠNG CHUNG CUỘC — {ctx.round.name}", ctx.info_lines())
    sheet = export.open_sheet("Xếp hạng", RANKING_COLUMNS)
    async for row in iter_rows(db, snapshot.id):
        sheet.append(ranking_cells(row))
        if progress and sheet.count % 2000 == 0:
            progress(sheet.count, snapshot.row_count)
    sheet.finish()
    export.sheet(CHECK_SHEET, CHECK_COLUMNS, check_rows(ctx.round.id, snapshot))
    return export.done(progress, sheet.count, snapshot.row_count)


# What `python -m app verify-export` needs besides the ranking sheet (app/judging/verify_export.py).
CHECK_SHEET = "Kiểm tra"
CHECK_COLUMNS = [Column("Khóa", 10), Column("Giá trị", 68), Column("Ý nghĩa", 60)]


def check_rows(round_id: int, snapshot: RankingSnapshot) -> list[tuple]:
    fmt = snapshot.canonical_format or 1
    how = (
        "Tính lại từ chính tệp này: python -m app verify-export <tệp .xlsx> (cách tính: app/judging/canonical.py)"
        if fmt >= 2
        else "Bảng chốt theo định dạng cũ (1): chỉ kiểm tra được trong hệ thống, không từ tệp."
    )
    return [
        ("format", str(fmt), "Định dạng chuẩn của mã kiểm tra"),
        ("round", str(round_id), "Mã đợt thi"),
        ("version", str(snapshot.version), "Lần chốt kết quả"),
        ("truth", "-" if snapshot.truth is None else str(snapshot.truth), "T: số người trả lời đúng tất cả"),
        ("rows", str(snapshot.row_count), "Số người trong bảng xếp hạng"),
        ("sha256", snapshot.digest, "Mã kiểm tra SHA-256 của bảng xếp hạng"),
        ("how", how, "Cách kiểm tra"),
    ]


# --- prizes ---------------------------------------------------------------------------------


def prize_tiers(plan, positions: int) -> list[tuple[str, int, int]]:
    """(tier label, first position, last position) by the round's prize plan."""
    tiers, start = [], 1
    for tier in PRIZE_TIERS:
        count = getattr(plan, tier) or 0
        if count and start <= positions:
            end = min(start + count - 1, positions)
            tiers.append((PRIZE_LABELS[tier], start, end))
            start = end + 1
    return tiers


PRIZE_COLUMNS = [
    Column("Giải", 18),
    Column("Hạng", 7, "int"),
    Column("Họ và tên", 26),
    Column("Ngày sinh", 12, "date"),
    Column("Điện thoại", 13),
    Column("Đơn vị", 30),
    Column("Tỉnh/Thành phố", 16),
    Column("Quận/Huyện", 16),
    Column("Số câu đúng", 9, "int"),
    Column("Dự đoán", 10, "int"),
    Column("Chênh lệch dự đoán", 11, "int"),
    Column("Thời gian làm bài (giây)", 12, "float"),
]


# The jury signs the printed prize list (biên bản): place and date written by hand, one column per role.
SIGNING_PLACE_DATE = "……………………, ngày …… tháng …… năm 20……"
SIGNING_ROLES = [
    ("NGƯỜI LẬP BIỂU", "(Ký, ghi rõ họ tên)"),
    ("TM. BAN GIÁM KHẢO", "TRƯỞNG BAN"),
    ("TM. BAN TỔ CHỨC", "TRƯỞNG BAN"),
]


async def write_prizes(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    snapshot = _require_snapshot(ctx)
    plan = await prize_plan(db, round_id)
    tiers = prize_tiers(plan, snapshot.row_count)
    plan_text = ", ".join(f"{PRIZE_LABELS[t]}: {getattr(plan, t)}" for t in PRIZE_TIERS)
    export = XlsxExport(
        path, f"DANH SÁCH ĐOẠT GIẢI — {ctx.round.name}", ctx.info_lines() + [f"Cơ cấu giải: {plan_text}"]
    )
    last = tiers[-1][2] if tiers else 0
    winners = [row async for row in iter_rows(db, snapshot.id) if row.position <= last]
    users = {u.id: u for u in (await db.scalars(select(User).where(User.id.in_([w.user_id for w in winners])))).all()}
    label_of = {p: label for label, a, b in tiers for p in range(a, b + 1)}
    sheets = [("Tất cả giải", winners)] + [
        (label, [w for w in winners if label_of[w.position] == label]) for label, _, _ in tiers
    ]
    total = 0
    for name, rows in sheets:
        sheet = export.open_sheet(name, PRIZE_COLUMNS)
        for w in rows:
            u = users.get(w.user_id)
            sheet.append(
                (
                    label_of[w.position],
                    w.position,
                    w.full_name,
                    u.date_of_birth if u else None,
                    u.phone if u else None,
                    w.unit,
                    w.province,
                    w.district,
                    w.correct,
                    w.prediction,
                    w.distance,
                    w.time_ms / 1000,
                )
            )
        sheet.signature_block(SIGNING_PLACE_DATE, SIGNING_ROLES)
        total += sheet.finish()
    from app.exports.integrity_sheets import add_exclusions_sheet

    await add_exclusions_sheet(export, db, round_id)
    return export.done(progress, len(winners))


# --- collective ranking of units -------------------------------------------------------------

UNIT_COLUMNS = [
    Column("Hạng", 7, "int"),
    Column("Đơn vị", 36),
    Column("Tỉnh/Thành phố", 16),
    Column("Số người dự thi", 12, "int"),
    Column("Điểm trung bình (số câu đúng)", 14, "float"),
    Column("Số người đúng tất cả", 12, "int"),
    Column("Trong danh sách đơn vị", 12),
]
NO_UNIT = "(không ghi đơn vị — không xếp hạng tập thể)"


def _display_name(variants: Counter) -> str:
    """The name a group without an official entry is shown by: its most typed spelling."""
    return min(variants.items(), key=lambda kv: (-kv[1], kv[0]))[0]


async def unit_table(db: AsyncSession, ctx: Context) -> tuple[list[dict], dict | None]:
    """(units, participants without a unit). Units are grouped by `group_key` (case, spacing,
    NFC) and shown by their official name when the contest's unit list has them; participants
    who gave no unit are counted apart and never ranked as a unit."""
    official = {group_key(u.name): u for u in await contest_units(db, ctx.contest.id)}
    groups: dict[str, dict] = {}
    for row in await counted_rows(db, ctx):
        key = group_key(row.unit)
        g = groups.setdefault(key, {"people": 0, "score": 0, "perfect": 0, "variants": Counter()})
        g["people"] += 1
        g["score"] += row.correct
        g["perfect"] += int(row.total > 0 and row.correct == row.total)
        g["variants"][clean_text(row.unit or "")] += 1
    for key in official:
        groups.setdefault(key, {"people": 0, "score": 0, "perfect": 0, "variants": Counter()})
    for key, g in groups.items():
        unit = official.get(key)
        g["name"] = unit.name if unit else (_display_name(g["variants"]) if key else NO_UNIT)
        g["province"] = unit.province if unit else None
        g["official"] = unit is not None
        g["average"] = g["score"] / g["people"] if g["people"] else 0.0
    unassigned = groups.pop("", None)
    return list(groups.values()), unassigned


async def write_units(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    table, unassigned = await unit_table(db, ctx)
    export = XlsxExport(
        path,
        f"XẾP HẠNG TẬP THỂ CÁC ĐƠN VỊ — {ctx.round.name}",
        ctx.info_lines()
        + [
            "Đơn vị được gộp theo tên không phân biệt chữ hoa/thường và khoảng trắng; tên chính thức theo danh sách "
            "đơn vị của Ban tổ chức. Người dự thi không ghi đơn vị được liệt kê riêng ở cuối, không xếp hạng."
        ],
    )
    orders = [
        ("Theo số người dự thi", lambda g: (-g["people"], -g["average"], g["name"])),
        ("Theo điểm trung bình", lambda g: (-g["average"], -g["people"], g["name"])),
    ]

    def cells(rank, g):
        return (
            rank,
            g["name"],
            g["province"],
            g["people"],
            round(g["average"], 2),
            g["perfect"],
            "Có" if g["official"] else "Không",
        )

    for name, key in orders:
        rows = [cells(i, g) for i, g in enumerate(sorted(table, key=key), start=1)]
        if unassigned:
            rows.append(cells(None, unassigned))
        export.sheet(name, UNIT_COLUMNS, rows)
    return export.done(progress, len(table))


# --- participation statistics -----------------------------------------------------------------

STAT_COLUMNS = [
    Column("Số người dự thi", 12, "int"),
    Column("Số lượt thi", 10, "int"),
    Column("Điểm trung bình", 10, "float"),
    Column("Số người đúng tất cả", 12, "int"),
]


async def write_participation(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    counted = {r.user_id: r for r in await counted_rows(db, ctx)}
    rows = (
        await db.execute(
            select(
                Attempt.user_id,
                Attempt.started_at,
                Attempt.submitted_at,
                Attempt.status,
                User.province,
                User.district,
                User.unit,
            )
            .join(User, User.id == Attempt.user_id)
            .where(Attempt.round_id == round_id)
        )
    ).all()
    # Units grouped as in the collective ranking (unit_table): one key, the official or most typed name.
    official = {group_key(u.name): u.name for u in await contest_units(db, ctx.contest.id)}
    variants: dict[str, Counter] = defaultdict(Counter)
    for row in rows:
        variants[group_key(row.unit)][clean_text(row.unit or "")] += 1

    def unit_name(unit: str | None) -> str:
        key = group_key(unit)
        return official.get(key) or (_display_name(variants[key]) if key else "(không ghi đơn vị)")

    people: dict[int, tuple] = {}
    attempts_by: dict[tuple, Counter] = defaultdict(Counter)
    days: dict[date, dict] = defaultdict(lambda: {"attempts": 0, "submitted": 0, "people": set(), "new": 0})
    first_day: dict[int, date] = {}
    for user_id, started, _submitted, status, province, district, unit in rows:
        where = (province or "(không rõ)", district or "(không rõ)", unit_name(unit))
        people[user_id] = where
        for level, key in enumerate((where[:1], where[:2], (where[2],))):
            attempts_by[(level, key)]["attempts"] += 1
        day = to_local(started).date()
        days[day]["attempts"] += 1
        days[day]["people"].add(user_id)
        days[day]["submitted"] += int(status == SUBMITTED)
        if user_id not in first_day or day < first_day[user_id]:
            first_day[user_id] = day
    for day in first_day.values():
        days[day]["new"] += 1
    stats: dict[tuple, dict] = {}
    for user_id, where in people.items():
        best = counted.get(user_id)
        for level, key in enumerate((where[:1], where[:2], (where[2],))):
            s = stats.setdefault((level, key), {"people": 0, "scored": 0, "score": 0, "perfect": 0})
            s["people"] += 1
            if best is not None:
                s["scored"] += 1
                s["score"] += best.correct
                s["perfect"] += int(best.total > 0 and best.correct == best.total)
    for loc in (await db.scalars(select(ContestLocality).where(ContestLocality.contest_id == ctx.contest.id))).all():
        stats.setdefault((0, (loc.province,)), {"people": 0, "scored": 0, "score": 0, "perfect": 0})
        if loc.district:
            stats.setdefault((1, (loc.province, loc.district)), {"people": 0, "scored": 0, "score": 0, "perfect": 0})

    def level_rows(level: int):
        items = sorted(
            ((k, v) for (lv, k), v in stats.items() if lv == level), key=lambda kv: (-kv[1]["people"], kv[0])
        )
        for key, s in items:
            average = round(s["score"] / s["scored"], 2) if s["scored"] else None
            yield (*key, s["people"], attempts_by[(level, key)]["attempts"], average, s["perfect"])

    export = XlsxExport(path, f"THỐNG KÊ THAM GIA — {ctx.round.name}", ctx.info_lines())
    export.sheet("Theo tỉnh", [Column("Tỉnh/Thành phố", 22), *STAT_COLUMNS], level_rows(0))
    export.sheet("Theo huyện", [Column("Tỉnh/Thành phố", 22), Column("Quận/Huyện", 22), *STAT_COLUMNS], level_rows(1))
    export.sheet("Theo đơn vị", [Column("Đơn vị", 36), *STAT_COLUMNS], level_rows(2))
    export.sheet(
        "Theo ngày",
        [
            Column("Ngày", 12, "date"),
            Column("Số lượt bắt đầu", 12, "int"),
            Column("Số lượt đã nộp", 12, "int"),
            Column("Số người thi trong ngày", 14, "int"),
            Column("Số người thi lần đầu", 14, "int"),
        ],
        ((d, v["attempts"], v["submitted"], len(v["people"]), v["new"]) for d, v in sorted(days.items())),
    )
    # Registrations per invitation link (issue 19): the collective-prize race, unit by unit.
    invited = await invitation_counts(db, ctx.contest.id, round_id)
    if invited:  # only contests that hand out invitation links
        export.sheet(
            "Theo đường dẫn mời",
            [
                Column("Đơn vị / địa bàn", 36),
                Column("Loại", 10),
                Column("Mã mời", 10),
                Column("Số người đăng ký", 12, "int"),
                Column("Số người đã thi", 12, "int"),
            ],
            (
                (
                    i["label"],
                    "Đơn vị" if i["kind"] == "unit" else "Xã/phường",
                    i["code"],
                    i["registrations"],
                    i["participants"],
                )
                for i in invited
            ),
        )
    return export.done(progress, len(people))


# --- per-question statistics -------------------------------------------------------------------


def discrimination(upper: tuple[int, int], lower: tuple[int, int]) -> float | None:
    """Classical discrimination index D = p(upper 27 %) − p(lower 27 %) for one question, where
    the groups are the participants with the highest and lowest scores; (correct, seen) each."""
    if not upper[1] or not lower[1]:
        return None
    return upper[0] / upper[1] - lower[0] / lower[1]


async def question_stats(db: AsyncSession, ctx: Context) -> list[dict]:
    """Per question of the counted attempts: times seen, share correct, D, option choice counts
    (in the bank's order A–F, whatever order each participant saw)."""
    counted = sorted(await counted_rows(db, ctx), key=lambda r: (-r.correct, r.time_ms, r.position))
    group = max(1, round(len(counted) * 0.27)) if counted else 0
    band_of = {r.attempt_id: "upper" for r in counted[:group]}
    band_of.update({r.attempt_id: "lower" for r in counted[len(counted) - group :]} if len(counted) > 1 else {})
    seen: Counter = Counter()
    chosen: dict[int, Counter] = defaultdict(Counter)  # question -> option id (None: no answer) -> n
    band: dict[tuple[str, int], Counter] = defaultdict(Counter)  # (band, question) -> option id -> n
    ids = [r.attempt_id for r in counted]
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        papers: dict[int, Any] = dict(
            (await db.execute(select(Attempt.id, Attempt.paper).where(Attempt.id.in_(chunk)))).all()
        )
        answers: dict[int, dict[int, int]] = defaultdict(dict)
        for attempt_id, question_id, option_id in await db.execute(
            select(AttemptAnswer.attempt_id, AttemptAnswer.question_id, AttemptAnswer.option_id).where(
                AttemptAnswer.attempt_id.in_(chunk)
            )
        ):
            answers[attempt_id][question_id] = option_id
        for attempt_id in chunk:
            where = band_of.get(attempt_id)
            for question_id, _ in papers.get(attempt_id) or []:
                picked = answers[attempt_id].get(question_id)
                seen[question_id] += 1
                chosen[question_id][picked] += 1
                if where:
                    band[(where, question_id)][picked] += 1
    if not seen:
        return []
    questions = (await db.scalars(select(Question).where(Question.id.in_(list(seen))).order_by(Question.id))).all()
    options: dict[int, list[Option]] = defaultdict(list)
    for o in (
        await db.scalars(select(Option).where(Option.question_id.in_(list(seen))).order_by(Option.position))
    ).all():
        options[o.question_id].append(o)
    table = []
    for q in questions:
        key = next((o for o in options[q.id] if o.is_correct), None)
        right = chosen[q.id].get(key.id, 0) if key else 0

        def hits(where: str) -> tuple[int, int]:  # called in this iteration only: the loop's q and key are right
            counts = band[(where, q.id)]  # noqa: B023
            return (counts.get(key.id, 0) if key else 0), sum(counts.values())  # noqa: B023

        table.append(
            {
                "id": q.id,
                "text": q.text,
                "topic": q.topic,
                "source": q.source,
                "difficulty": DIFFICULTY_LABELS.get(q.difficulty, ""),
                "key": LETTERS[key.position] if key else "",
                "seen": seen[q.id],
                "correct": right,
                "share": right / seen[q.id],
                "discrimination": discrimination(hits("upper"), hits("lower")),
                "blank": chosen[q.id].get(None, 0),
                "options": [chosen[q.id].get(o.id, 0) for o in options[q.id]],
            }
        )
    return table


QUESTION_COLUMNS = [
    Column("STT", 6, "int"),
    Column("Mã câu hỏi", 9, "int"),
    Column("Câu hỏi", 60),
    Column("Chủ đề", 22),
    Column("Mức độ", 11),
    Column("Đáp án", 7),
    Column("Số lượt gặp", 10, "int"),
    Column("Số lượt trả lời đúng", 11, "int"),
    Column("Tỉ lệ đúng", 9, "percent"),
    Column("Độ phân biệt (D)", 10, "float"),
    Column("Không trả lời", 10, "int"),
    *[Column(f"Số lượt chọn {letter}", 9, "int") for letter in LETTERS],
    Column("Nguồn", 40),
]


async def write_questions(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    table = await question_stats(db, ctx)
    export = XlsxExport(
        path,
        f"THỐNG KÊ THEO CÂU HỎI — {ctx.round.name}",
        ctx.info_lines()
        + [
            "Độ phân biệt D = tỉ lệ đúng của nhóm 27% điểm cao nhất − tỉ lệ đúng của nhóm 27% điểm thấp nhất "
            "(D ≥ 0,3: tốt; D < 0,2: nên xem lại câu hỏi; D âm: có thể sai đáp án)."
        ],
    )
    export.sheet(
        "Theo câu hỏi",
        QUESTION_COLUMNS,
        (
            (
                i,
                r["id"],
                r["text"],
                r["topic"],
                r["difficulty"],
                r["key"],
                r["seen"],
                r["correct"],
                r["share"],
                None if r["discrimination"] is None else round(r["discrimination"], 3),
                r["blank"],
                *(r["options"] + [None] * (6 - len(r["options"]))),
                r["source"],
            )
            for i, r in enumerate(table, start=1)
        ),
    )
    return export.done(progress, len(table))


# --- participants ------------------------------------------------------------------------------

PARTICIPANT_COLUMNS = [
    Column("STT", 7, "int"),
    Column("Họ và tên", 26),
    Column("Ngày sinh", 12, "date"),
    Column("Giới tính", 8),
    Column("Điện thoại", 13),
    Column("Số CCCD", 15),
    Column("Tỉnh/Thành phố", 16),
    Column("Quận/Huyện", 16),
    Column("Xã/Phường", 16),
    Column("Đơn vị", 30),
    Column("Đảng viên", 9),
    Column("Số lượt thi", 9, "int"),
    Column("Số câu đúng (lượt được tính)", 12, "int"),
    Column("Hạng", 8, "int"),
    Column("Đăng ký lúc", 20, "datetime"),
]


async def write_participants(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    counted = {r.user_id: r for r in await counted_rows(db, ctx)}
    attempts = Counter(
        dict(
            (
                await db.execute(
                    select(Attempt.user_id, func.count()).where(Attempt.round_id == round_id).group_by(Attempt.user_id)
                )
            ).all()
        )
    )
    export = XlsxExport(
        path,
        f"DANH SÁCH NGƯỜI DỰ THI — {ctx.round.name}",
        ctx.info_lines() + ["Tài liệu có thông tin cá nhân: chỉ dùng cho công tác của Ban tổ chức, không công bố."],
    )
    sheet = export.open_sheet("Người dự thi", PARTICIPANT_COLUMNS)
    ids = sorted(attempts)
    for start in range(0, len(ids), 2000):
        users = (await db.scalars(select(User).where(User.id.in_(ids[start : start + 2000])).order_by(User.id))).all()
        for u in users:
            row = counted.get(u.id)
            sheet.append(
                (
                    sheet.count + 1,
                    u.full_name,
                    u.date_of_birth,
                    GENDERS.get(u.gender or "", u.gender),
                    u.phone,
                    u.citizen_id,
                    u.province,
                    u.district,
                    u.commune,
                    u.unit,
                    "Có" if u.party_member else "Không",
                    attempts[u.id],
                    row.correct if row else None,
                    row.position if row else None,
                    u.created_at,
                )
            )
        if progress:
            progress(sheet.count, len(ids))
    sheet.finish()
    export.close()
    return sheet.count


@dataclass(frozen=True)
class ExportKind:
    name: str
    label: str
    filename: str
    writer: Callable
    needs_snapshot: bool
    permission: str


def _kinds():
    from app.exports.integrity_sheets import write_integrity
    from app.staff.roles import EXPORT_RESULTS, EXPORT_STATISTICS, REVIEW_INTEGRITY

    return {
        k.name: k
        for k in (
            ExportKind("ranking", "Bảng xếp hạng chung cuộc", "bang-xep-hang", write_ranking, True, EXPORT_RESULTS),
            ExportKind(
                "prizes", "Danh sách đoạt giải theo từng giải", "danh-sach-giai", write_prizes, True, EXPORT_RESULTS
            ),
            ExportKind(
                "units", "Xếp hạng tập thể các đơn vị", "xep-hang-don-vi", write_units, False, EXPORT_STATISTICS
            ),
            ExportKind(
                "participation",
                "Thống kê tham gia theo tỉnh, huyện, đơn vị, ngày",
                "thong-ke-tham-gia",
                write_participation,
                False,
                EXPORT_STATISTICS,
            ),
            ExportKind(
                "questions",
                "Thống kê theo câu hỏi (tỉ lệ đúng, độ phân biệt)",
                "thong-ke-cau-hoi",
                write_questions,
                False,
                EXPORT_STATISTICS,
            ),
            ExportKind(
                "participants",
                "Danh sách người dự thi",
                "danh-sach-nguoi-du-thi",
                write_participants,
                False,
                EXPORT_STATISTICS,
            ),
            ExportKind(
                "integrity",
                "Báo cáo tài khoản đáng ngờ (cho Ban giám khảo)",
                "tai-khoan-dang-ngo",
                write_integrity,
                False,
                REVIEW_INTEGRITY,
            ),
        )
    }


EXPORTS: dict[str, ExportKind] = _kinds()


def export_kind(name: str) -> ExportKind:
    kind = EXPORTS.get(name)
    if kind is None:
        raise NotFound("export_not_found", "Không có loại tệp xuất này.")
    return kind
