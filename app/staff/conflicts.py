"""Contest rules (thể lệ): members of the organizing board, the jury and the secretariat may not
take part. Two checks: staff cannot open an attempt in their contest, and a staff role is not
given to someone who already sat a round of it — unless an admin overrides, which excludes that
person from the results of every round they sat (audited, new ranking versions for closed rounds)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import Attempt
from app.contests.models import Round
from app.core.errors import Conflict, Forbidden
from app.staff.models import StaffAssignment
from app.staff.roles import ADMIN, ROLE_LABELS


class StaffCannotParticipate(Forbidden):
    def __init__(self, roles: list[str]):
        labels = ", ".join(ROLE_LABELS.get(r, r) for r in roles)
        super().__init__(
            "staff_cannot_participate",
            f"Bạn là thành viên {labels} của cuộc thi này. Theo thể lệ, thành viên Ban tổ chức, "
            "Ban giám khảo và Tổ thư ký không được dự thi.",
            details={"roles": roles},
        )


async def contest_staff_roles(db: AsyncSession, user_id: int, contest_id: int) -> list[str]:
    """The roles that make `user_id` staff of the contest: its contest roles, and "admin"."""
    rows = (
        await db.execute(
            select(User.role, StaffAssignment.role)
            .outerjoin(
                StaffAssignment, (StaffAssignment.user_id == User.id) & (StaffAssignment.contest_id == contest_id)
            )
            .where(User.id == user_id)
        )
    ).all()
    roles = sorted({r for _, r in rows if r})
    if rows and rows[0][0] == ADMIN:
        roles.append(ADMIN)
    return roles


async def ensure_not_contest_staff(db: AsyncSession, user_id: int, contest_id: int) -> None:
    """Called when an attempt is opened: one indexed query."""
    roles = await contest_staff_roles(db, user_id, contest_id)
    if roles:
        raise StaffCannotParticipate(roles)


async def rounds_sat(db: AsyncSession, user_id: int, contest_id: int) -> list[tuple[int, str, int]]:
    """(round id, round name, attempts) of every round of the contest the person has sat."""
    rows = await db.execute(
        select(Round.id, Round.name, func.count(Attempt.id))
        .join(Attempt, Attempt.round_id == Round.id)
        .where(Round.contest_id == contest_id, Attempt.user_id == user_id)
        .group_by(Round.id, Round.name)
        .order_by(Round.id)
    )
    return [(rid, name, n) for rid, name, n in rows]


async def refuse_if_participated(db: AsyncSession, user_id: int, contest_id: int) -> None:
    sat = await rounds_sat(db, user_id, contest_id)
    if sat:
        names = ", ".join(f"“{name}” ({n} lượt)" for _, name, n in sat)
        raise Conflict(
            "staff_has_attempts",
            f"Người này đã dự thi trong cuộc thi: {names}. Thành viên Ban tổ chức, Ban giám khảo và "
            "Tổ thư ký không được dự thi, nên không thể phân quyền. Nếu vẫn cần phân quyền, hãy chọn "
            "“loại khỏi kết quả” và ghi lý do: người này sẽ bị loại khỏi kết quả các đợt đã dự thi.",
            details={"rounds": [{"round_id": rid, "name": name, "attempts": n} for rid, name, n in sat]},
        )
