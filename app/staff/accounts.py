"""Staff accounts and per-contest roles."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import validation as v
from app.accounts.models import User
from app.accounts.passwords import hash_password
from app.contests.models import Contest
from app.core.errors import Conflict, Invalid, NotFound
from app.staff import audit
from app.staff.conflicts import refuse_if_participated
from app.staff.models import StaffAssignment
from app.staff.roles import ADMIN, CONTEST_ROLES, ROLE_LABELS, StaffAccess

STAFF = "staff"  # users.role of an account that holds per-contest roles


def _field(fn, *args):
    try:
        return fn(*args)
    except v.FieldError as exc:
        raise Invalid("invalid_" + exc.field, exc.message) from exc


async def create_admin(db: AsyncSession, phone: str, name: str, password: str) -> tuple[User, bool]:
    """The first admin, from the command line. An existing account with that phone is promoted
    (its password is left as it is); returns (user, created)."""
    phone = _field(v.normalize_phone, phone)
    existing = await db.scalar(select(User).where(User.phone == phone))
    created = existing is None
    if existing is None:
        user = User(
            full_name=_field(v.normalize_full_name, name),
            phone=phone,
            password_hash=await hash_password(_field(v.check_password, password)),
            role=ADMIN,
        )
        db.add(user)
    else:
        user = existing
        user.role = ADMIN
    await db.flush()
    audit.record(db, None, "admin.create", target=f"user:{user.id}", after={"phone": phone, "created": created})
    await db.commit()
    return user, created


async def create_staff_account(db: AsyncSession, actor: StaffAccess, phone: str, name: str, password: str) -> User:
    actor.require_admin()
    phone = _field(v.normalize_phone, phone)
    user = User(
        full_name=_field(v.normalize_full_name, name),
        phone=phone,
        password_hash=await hash_password(_field(v.check_password, password)),
        role=STAFF,
    )
    db.add(user)
    try:
        await db.flush()
    except IntegrityError as exc:
        await db.rollback()
        raise Conflict("phone_taken", "Số điện thoại này đã có tài khoản: hãy phân quyền cho tài khoản đó.") from exc
    audit.record(db, actor, "staff.create", target=f"user:{user.id}", after={"phone": phone, "name": user.full_name})
    await db.commit()
    return user


async def user_by_phone(db: AsyncSession, phone: str) -> User:
    user = await db.scalar(select(User).where(User.phone == _field(v.normalize_phone, phone)))
    if user is None:
        raise NotFound("user_not_found", "Không có tài khoản nào với số điện thoại này.")
    return user


async def assign_role(
    db: AsyncSession, actor: StaffAccess, contest_id: int, phone: str, role: str, *, allow_participant: bool = False
) -> StaffAssignment:
    """Gives a contest role. Someone who sat a round of the contest is refused (contest rules),
    unless the caller is `app.integrity.staff_override.assign_with_override`, which has excluded them
    from those rounds' results first."""
    actor.require_admin()
    if role not in CONTEST_ROLES:
        raise Invalid("invalid_role", "Vai trò phải là Ban tổ chức, Ban giám khảo hoặc Tổ thư ký.")
    if await db.get(Contest, contest_id) is None:
        raise NotFound("contest_not_found", "Không tìm thấy cuộc thi.")
    user = await user_by_phone(db, phone)
    if not allow_participant:
        await refuse_if_participated(db, user.id, contest_id)
    existing = await db.scalar(
        select(StaffAssignment).where(
            StaffAssignment.user_id == user.id, StaffAssignment.contest_id == contest_id, StaffAssignment.role == role
        )
    )
    if existing is not None:
        return existing
    assignment = StaffAssignment(user_id=user.id, contest_id=contest_id, role=role)
    db.add(assignment)
    if user.role not in (ADMIN, STAFF):
        user.role = STAFF  # shows the console link after the next login
    await db.flush()
    audit.record(
        db,
        actor,
        "staff.assign",
        contest_id=contest_id,
        target=f"user:{user.id}",
        after={"role": role, "phone": user.phone, "name": user.full_name},
    )
    await db.commit()
    return assignment


async def remove_assignment(
    db: AsyncSession, actor: StaffAccess, assignment_id: int, contest_id: int | None = None
) -> None:
    """Takes a contest role away; it stops working on the holder's very next request (roles are
    read from the database on every staff request)."""
    actor.require_admin()
    assignment = await db.get(StaffAssignment, assignment_id)
    if assignment is None or (contest_id is not None and assignment.contest_id != contest_id):
        raise NotFound("assignment_not_found", "Không tìm thấy phân quyền.")
    audit.record(
        db,
        actor,
        "staff.unassign",
        contest_id=assignment.contest_id,
        target=f"user:{assignment.user_id}",
        before={"role": assignment.role},
    )
    await db.delete(assignment)
    await db.commit()


async def contest_staff(db: AsyncSession, contest_id: int) -> list[tuple[StaffAssignment, User]]:
    rows = await db.execute(
        select(StaffAssignment, User)
        .join(User, User.id == StaffAssignment.user_id)
        .where(StaffAssignment.contest_id == contest_id)
        .order_by(StaffAssignment.role, User.full_name)
    )
    return [(a, u) for a, u in rows]


async def staff_accounts(db: AsyncSession, limit: int = 500) -> list[tuple[User, list[str]]]:
    """Every staff and admin account, newest first, with the contests they serve ("Ban tổ chức: X")."""
    users = (
        await db.scalars(select(User).where(User.role.in_((STAFF, ADMIN))).order_by(User.id.desc()).limit(limit))
    ).all()
    roles: dict[int, list[str]] = {u.id: [] for u in users}
    rows = await db.execute(
        select(StaffAssignment.user_id, StaffAssignment.role, Contest.title)
        .join(Contest, Contest.id == StaffAssignment.contest_id)
        .where(StaffAssignment.user_id.in_(list(roles) or [-1]))
    )
    for user_id, role, title in rows:
        roles[user_id].append(f"{ROLE_LABELS.get(role, role)}: {title}")
    return [(u, roles[u.id]) for u in users]
