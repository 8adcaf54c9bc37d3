"""The audit log: who did what, when, with the state before and after, as JSON.

`record` adds the entry to the caller's transaction, so the change and its log entry are
committed together or not at all."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.staff.models import AuditEntry
from app.staff.roles import StaffAccess

ACTION_LABELS = {
    "contest.create": "Tạo cuộc thi",
    "contest.update": "Sửa cuộc thi",
    "contest.banner": "Đổi ảnh banner",
    "contest.units": "Nhập danh sách đơn vị",
    "contest.localities": "Nhập danh sách địa bàn",
    "round.create": "Tạo đợt thi",
    "round.update": "Sửa đợt thi",
    "round.end_now": "Kết thúc đợt thi ngay",
    "bank.import": "Nhập ngân hàng câu hỏi",
    "question.retire": "Ngừng dùng câu hỏi",
    "question.restore": "Dùng lại câu hỏi",
    "question.edit": "Sửa câu hỏi",
    "round.close": "Chốt kết quả đợt thi",
    "question.regrade": "Chấm lại câu hỏi",
    "export.start": "Xuất tệp Excel",
    "staff.create": "Tạo tài khoản cán bộ",
    "staff.assign": "Phân quyền",
    "staff.unassign": "Thu hồi quyền",
    "admin.create": "Tạo quản trị hệ thống",
    "password_reset.issue": "Cấp mã đặt lại mật khẩu",
    "password_reset.sms": "Gửi mã đặt lại mật khẩu qua SMS",
    "password_reset.verify_failed": "Xác minh danh tính không khớp",
    "password_reset.cancel": "Hủy yêu cầu đặt lại mật khẩu",
    "password_reset.use": "Đặt lại mật khẩu bằng mã",
    "staff.assign_override": "Phân quyền cho người đã dự thi (loại khỏi kết quả)",
    "result.exclude": "Loại tài khoản khỏi kết quả",
    "result.reinstate": "Khôi phục tài khoản vào kết quả",
}


def jsonable(value: Any) -> Any:
    """Before/after states as plain JSON (datetimes as ISO 8601 UTC)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def record(
    db: AsyncSession,
    actor: StaffAccess | None,
    action: str,
    *,
    contest_id: int | None = None,
    round_id: int | None = None,
    target: str | None = None,
    before: Any = None,
    after: Any = None,
) -> None:
    db.add(
        AuditEntry(
            actor_id=actor.user_id if actor else None,
            actor_name=actor.name if actor else "(dòng lệnh)",
            action=action,
            contest_id=contest_id,
            round_id=round_id,
            target=target,
            before=jsonable(before),
            after=jsonable(after),
        )
    )


async def recent(db: AsyncSession, *, contest_id: int | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if contest_id is not None:
        query = query.where(AuditEntry.contest_id == contest_id)
    return list((await db.scalars(query)).all())
