"""The audit log as people read it: who did what and when (local time), in Vietnamese, with the
fields that changed shown as "before → after", filterable and exportable to .xlsx."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import to_local
from app.staff.audit import ACTION_LABELS
from app.staff.models import AuditEntry

FIELD_LABELS = {
    "title": "Tên cuộc thi",
    "organizer_name": "Cơ quan tổ chức",
    "slug": "Đường dẫn",
    "description": "Giới thiệu",
    "rules_text": "Thể lệ",
    "published": "Công bố",
    "name": "Tên",
    "open_at": "Mở lúc",
    "close_at": "Đóng lúc",
    "questions_per_attempt": "Số câu mỗi lượt",
    "time_limit_seconds": "Thời gian làm bài (giây)",
    "attempts_allowed": "Số lượt thi",
    "quotas": "Cơ cấu đề",
    "prediction_enabled": "Có câu hỏi dự đoán",
    "prediction_question": "Câu hỏi dự đoán",
    "prediction_truth": "Đáp án dự đoán (T)",
    "truth": "Đáp án dự đoán (T)",
    "role": "Vai trò",
    "phone": "Số điện thoại",
    "full_name": "Họ và tên",
    "user": "Tài khoản",
    "count": "Số dòng",
    "text": "Nội dung câu hỏi",
    "answer": "Đáp án",
    "note": "Ghi chú",
    "version": "Lần chốt",
    "digest": "Mã SHA-256",
    "rows": "Số người",
    "kind": "Loại tệp",
    "file": "Tệp",
    "imported": "Số câu đã nhập",
    "retired": "Ngừng dùng",
    "first": "Giải Nhất",
    "second": "Giải Nhì",
    "third": "Giải Ba",
    "consolation": "Giải Khuyến khích",
}
ROLE_WORDS = {"organizer": "Ban tổ chức", "judge": "Ban giám khảo", "admin": "Quản trị hệ thống", "staff": "Cán bộ"}


@dataclass
class AuditRow:
    id: int
    when: str
    who: str
    action: str
    action_code: str
    target: str
    changes: list[tuple[str, str, str]]  # (field, before, after)


def _value(value) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "Có" if value else "Không"
    if isinstance(value, (int, float)):
        return f"{value:,}".replace(",", ".") if isinstance(value, int) else str(value).replace(".", ",")
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return ROLE_WORDS.get(value, value)
        if moment.tzinfo is not None:
            return to_local(moment).strftime("%H:%M %d/%m/%Y")
        return value
    if isinstance(value, list):
        return "; ".join(_value(v) for v in value) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{FIELD_LABELS.get(k, k)}: {_value(v)}" for k, v in value.items())
    return str(value)


def changes_of(before, after) -> list[tuple[str, str, str]]:
    if isinstance(before, dict) or isinstance(after, dict):
        before, after = before if isinstance(before, dict) else {}, after if isinstance(after, dict) else {}
        keys = list(dict.fromkeys([*before, *after]))
        return [
            (FIELD_LABELS.get(k, k), _value(before.get(k)), _value(after.get(k)))
            for k in keys
            if before.get(k) != after.get(k) or k not in before or k not in after
        ]
    if before is None and after is None:
        return []
    return [("", _value(before), _value(after))]


def _target(entry: AuditEntry) -> str:
    if entry.round_id:
        return f"Đợt thi #{entry.round_id}"
    if entry.target:
        kind, _, ident = entry.target.partition(":")
        return {"user": "Tài khoản", "question": "Câu hỏi", "contest": "Cuộc thi"}.get(kind, kind) + (
            f" #{ident}" if ident else ""
        )
    return ""


def row_of(entry: AuditEntry) -> AuditRow:
    return AuditRow(
        id=entry.id,
        when=to_local(entry.created_at).strftime("%H:%M:%S %d/%m/%Y"),
        who=entry.actor_name,
        action=ACTION_LABELS.get(entry.action, entry.action),
        action_code=entry.action,
        target=_target(entry),
        changes=changes_of(entry.before, entry.after),
    )


async def entries(
    db: AsyncSession, contest_id: int, *, action: str = "", actor: str = "", limit: int = 200
) -> list[AuditRow]:
    query = select(AuditEntry).where(AuditEntry.contest_id == contest_id).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_name == actor)
    return [row_of(e) for e in (await db.scalars(query)).all()]


async def filter_choices(db: AsyncSession, contest_id: int) -> tuple[list[tuple[str, str]], list[str]]:
    actions = (await db.scalars(select(AuditEntry.action).where(AuditEntry.contest_id == contest_id).distinct())).all()
    people = (
        await db.scalars(select(AuditEntry.actor_name).where(AuditEntry.contest_id == contest_id).distinct())
    ).all()
    return sorted(((a, ACTION_LABELS.get(a, a)) for a in actions), key=lambda p: p[1]), sorted(people)


def to_xlsx(title: str, rows: list[AuditRow]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "Nhật ký"
    sheet.append([f"Nhật ký thao tác — {title}"])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append([])
    header = ["Lúc (giờ địa phương)", "Người thực hiện", "Thao tác", "Đối tượng", "Mục", "Trước", "Sau"]
    sheet.append(header)
    for cell in sheet[3]:
        cell.font = Font(bold=True)
    for row in rows:
        for field, before, after in row.changes or [("", "", "")]:
            sheet.append([row.when, row.who, row.action, row.target, field, before, after])
    for col, width in zip("ABCDEFG", (20, 22, 26, 16, 22, 40, 40)):
        sheet.column_dimensions[col].width = width
    for line in sheet.iter_rows(min_row=4):
        for cell in line:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "A4"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = 1, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "3:3"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
