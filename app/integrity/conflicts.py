"""Contest rules (thể lệ): members of the organizing board, the jury and the secretariat may not
take part. Two checks: staff cannot open an attempt in their contest, and a staff role is not
given to someone who already sat a round of it — unless an admin overrides, which excludes that
person from the results of every round they sat (audited, new ranking versions for closed rounds)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.admin.models import StaffAssignment
from app.admin.roles import ADMIN, ROLE_LABELS, StaffAccess
from app.attempts.models import Attempt
from app.contests.models import Round
from app.core.errors import Conflict, Forbidden, Invalid


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


async def assign_with_override(deps, redis, actor: StaffAccess, contest_id: int, phone: str, role: str, reason: str):
    """The explicit override: the person is excluded from the results of every round of the
    contest they sat (each exclusion audited; closed rounds get a new ranking version), then
    given the role. Returns the assignment."""
    from app.admin import audit, staff
    from app.integrity import exclusions

    actor.require_admin()
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("reason_required", "Hãy ghi lý do loại người này khỏi kết quả để được phân quyền.")
    user = await staff.user_by_phone(deps.db, phone)
    sat = await rounds_sat(deps.db, user.id, contest_id)
    excluded = []
    for round_id, _, _ in sat:
        if not await exclusions.is_excluded(deps.db, round_id, user.id):
            await exclusions.exclude(
                deps,
                redis,
                actor,
                round_id,
                user.id,
                f"Được phân quyền {ROLE_LABELS.get(role, role)} của cuộc thi: {reason}",
            )
            excluded.append(round_id)
    assignment = await staff.assign_role(deps.db, actor, contest_id, phone, role, allow_participant=True)
    audit.record(
        deps.db,
        actor,
        "staff.assign_override",
        contest_id=contest_id,
        target=f"user:{user.id}",
        after={"role": role, "reason": reason, "excluded_rounds": excluded},
    )
    await deps.db.commit()
    return assignment
