"""The suspicious-accounts report as .xlsx (one of the round's exports, for judges), and the
excluded accounts' sheet of the prize list."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from app.exports.reports import Progress, context_of
from app.exports.xlsx import Column, XlsxExport
from app.integrity.exclusions import exclusions_of
from app.integrity.report import build_report

MEMBER_COLUMNS = [
    Column("Nhóm", 7, "int"),
    Column("Mức nghi vấn (điểm)", 10, "int"),
    Column("Số tài khoản trong nhóm", 10, "int"),
    Column("Mã tài khoản", 10, "int"),
    Column("Họ và tên", 26),
    Column("Ngày sinh", 12, "date"),
    Column("Điện thoại", 13),
    Column("Số CCCD", 15),
    Column("Đăng ký lúc", 20, "datetime"),
    Column("Dự đoán", 16),
    Column("Hạng", 8, "int"),
    Column("Trong nhóm đoạt giải", 10),
    Column("Đã bị loại", 9),
    Column("Dấu hiệu của nhóm", 60),
]
SIGNAL_COLUMNS = [
    Column("Nhóm", 7, "int"),
    Column("Dấu hiệu", 30),
    Column("Mức", 11),
    Column("Chi tiết", 60),
    Column("Vì sao đáng chú ý", 80),
    Column("Các tài khoản (mã)", 30),
]
EXCLUSION_COLUMNS = [
    Column("Mã tài khoản", 10, "int"),
    Column("Họ và tên", 26),
    Column("Ngày sinh", 12, "date"),
    Column("Điện thoại", 13),
    Column("Lý do loại", 60),
    Column("Người quyết định", 22),
    Column("Lúc", 20, "datetime"),
    Column("Khôi phục lúc", 20, "datetime"),
    Column("Lý do khôi phục", 40),
]


async def write_integrity(db: AsyncSession, round_id: int, path: Path, progress: Progress | None = None) -> int:
    ctx = await context_of(db, round_id)
    report = await build_report(db, round_id)
    export = XlsxExport(
        path,
        f"BÁO CÁO TÀI KHOẢN ĐÁNG NGỜ — {ctx.round.name}",
        ctx.info_lines()
        + [
            f"{report.participants} người dự thi; {len(report.clusters)} nhóm với {report.flagged} tài khoản có dấu hiệu.",
            "Đây là bằng chứng để Ban giám khảo xem xét, KHÔNG phải kết luận: mỗi dấu hiệu ghi rõ vì sao đáng chú ý "
            "và khi nào có thể là tình cờ.",
            "Tài liệu có thông tin cá nhân: chỉ dùng cho Ban giám khảo, không công bố.",
        ],
    )
    sheet = export.open_sheet("Nhóm tài khoản", MEMBER_COLUMNS)
    for c in report.clusters:
        summary = "; ".join(f"{s.label} ({s.strength_label.lower()})" for s in c.signals)
        for m in c.members:
            sheet.append(
                (
                    c.number,
                    c.score,
                    len(c.members),
                    m.user_id,
                    m.full_name,
                    m.date_of_birth,
                    m.phone,
                    m.citizen_id,
                    m.registered_at,
                    ", ".join(str(p) for p in m.predictions),
                    m.position,
                    "Có" if m.position is not None and m.position <= report.prize_positions else "",
                    "Đã loại" if m.excluded else "",
                    summary,
                )
            )
    sheet.finish()
    export.sheet(
        "Dấu hiệu",
        SIGNAL_COLUMNS,
        (
            (c.number, s.label, s.strength_label, s.detail, s.why, ", ".join(str(u) for u in s.user_ids))
            for c in report.clusters
            for s in c.signals
        ),
    )
    export.sheet("Tài khoản bị loại", EXCLUSION_COLUMNS, exclusion_rows(await exclusions_of(db, round_id)))
    return export.done(progress, report.flagged)


def exclusion_rows(rows):
    for e, u in rows:
        yield (
            u.id,
            u.full_name,
            u.date_of_birth,
            u.phone,
            e.reason,
            e.created_by_name,
            e.created_at,
            e.lifted_at,
            e.lift_reason,
        )


async def add_exclusions_sheet(export: XlsxExport, db: AsyncSession, round_id: int) -> int:
    """The prize list's last sheet: every account excluded from the round's results, and why."""
    return export.sheet("Bị loại khỏi kết quả", EXCLUSION_COLUMNS, exclusion_rows(await exclusions_of(db, round_id)))
