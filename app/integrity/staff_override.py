"""Making someone staff of a contest they took part in: the explicit override, which excludes
them from the results first (app/staff/conflicts.py refuses it otherwise)."""

from __future__ import annotations

from app.core.errors import Invalid
from app.integrity import exclusions
from app.staff import accounts as staff
from app.staff import audit
from app.staff.conflicts import rounds_sat
from app.staff.roles import ROLE_LABELS, StaffAccess


async def assign_with_override(deps, redis, actor: StaffAccess, contest_id: int, phone: str, role: str, reason: str):
    """The explicit override: the person is excluded from the results of every round of the
    contest they sat (each exclusion audited; closed rounds get a new ranking version), then
    given the role. Returns the assignment."""
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
