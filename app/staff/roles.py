"""Who may do what. Pure: `StaffAccess` is loaded once per request (app.staff.deps) and asked.

Roles: "admin" (users.role, everything everywhere), and per contest "organizer" (Ban tổ chức:
contest settings, rounds, bank, live dashboard, participation statistics), "judge" (Ban giám
khảo: closing a round, re-grading, rankings and prize lists, the suspicious-accounts report,
exclusions) and "secretariat" (Tổ thư ký: follows the contest — dashboard and statistics — and
prepares the paperwork). A participant has no staff access. Staff of a contest (and admins) may
not take part in it (app.staff.conflicts).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.errors import Forbidden

ADMIN = "admin"
ORGANIZER = "organizer"
JUDGE = "judge"
SECRETARIAT = "secretariat"
CONTEST_ROLES = (ORGANIZER, JUDGE, SECRETARIAT)
ROLE_LABELS = {ADMIN: "Quản trị hệ thống", ORGANIZER: "Ban tổ chức", JUDGE: "Ban giám khảo", SECRETARIAT: "Tổ thư ký"}

# Permissions, named by what they let a person do.
EDIT_CONTEST = "edit_contest"
EDIT_BANK = "edit_bank"
VIEW_BANK = "view_bank"
VIEW_DASHBOARD = "view_dashboard"
EXPORT_STATISTICS = "export_statistics"
EXPORT_RESULTS = "export_results"
CLOSE_ROUND = "close_round"
REGRADE = "regrade"
REVIEW_INTEGRITY = "review_integrity"  # the suspicious-accounts report; excluding accounts from results

ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    ORGANIZER: frozenset({EDIT_CONTEST, EDIT_BANK, VIEW_BANK, VIEW_DASHBOARD, EXPORT_STATISTICS}),
    # Judges see the bank (to re-grade a wrong question) but do not change its contents.
    JUDGE: frozenset(
        {VIEW_BANK, VIEW_DASHBOARD, EXPORT_STATISTICS, EXPORT_RESULTS, CLOSE_ROUND, REGRADE, REVIEW_INTEGRITY}
    ),
    SECRETARIAT: frozenset({VIEW_DASHBOARD, EXPORT_STATISTICS}),
}

PERMISSION_MESSAGES = {
    EDIT_CONTEST: "Chỉ Ban tổ chức của cuộc thi này mới được thay đổi cấu hình cuộc thi.",
    EDIT_BANK: "Chỉ Ban tổ chức của cuộc thi này mới được thay đổi ngân hàng câu hỏi.",
    VIEW_BANK: "Bạn không thuộc Ban tổ chức hoặc Ban giám khảo của cuộc thi này.",
    VIEW_DASHBOARD: "Bạn không thuộc Ban tổ chức, Ban giám khảo hoặc Tổ thư ký của cuộc thi này.",
    EXPORT_STATISTICS: "Bạn không thuộc Ban tổ chức, Ban giám khảo hoặc Tổ thư ký của cuộc thi này.",
    EXPORT_RESULTS: "Chỉ Ban giám khảo của cuộc thi này mới được xuất kết quả xếp hạng và danh sách giải.",
    CLOSE_ROUND: "Chỉ Ban giám khảo của cuộc thi này mới được chốt kết quả đợt thi.",
    REGRADE: "Chỉ Ban giám khảo của cuộc thi này mới được chấm lại.",
    REVIEW_INTEGRITY: "Chỉ Ban giám khảo của cuộc thi này mới được xem báo cáo tài khoản đáng ngờ và loại tài khoản "
    "khỏi kết quả.",
}


class StaffForbidden(Forbidden):
    def __init__(self, message: str = "Bạn không có quyền truy cập trang quản trị."):
        super().__init__("forbidden", message)


@dataclass(frozen=True)
class StaffAccess:
    user_id: int
    name: str
    is_admin: bool
    roles: dict[int, frozenset[str]] = field(default_factory=dict)  # contest id -> roles

    @property
    def is_staff(self) -> bool:
        return self.is_admin or any(self.roles.values())

    def can(self, permission: str, contest_id: int) -> bool:
        if self.is_admin:
            return True
        return any(permission in ROLE_PERMISSIONS[r] for r in self.roles.get(contest_id, ()))

    def require(self, permission: str, contest_id: int) -> None:
        if not self.can(permission, contest_id):
            raise StaffForbidden(PERMISSION_MESSAGES[permission])

    def require_admin(self) -> None:
        if not self.is_admin:
            raise StaffForbidden("Chỉ quản trị hệ thống mới được thực hiện thao tác này.")

    def contest_ids(self) -> set[int]:
        return {cid for cid, roles in self.roles.items() if roles}

    def role_labels(self, contest_id: int) -> list[str]:
        if self.is_admin:
            return [ROLE_LABELS[ADMIN]]
        return [ROLE_LABELS[r] for r in CONTEST_ROLES if r in self.roles.get(contest_id, ())]
