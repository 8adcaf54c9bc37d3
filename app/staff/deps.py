"""FastAPI dependencies of the consoles: every staff page and API call loads the caller's roles
from the database (not from the session, so a revoked role takes effect at once) and refuses
anyone who is not staff with 403 and a Vietnamese message.

A route declares what it needs in its signature, where a reader sees it:

    BankEditor = Annotated[StaffAccess, Depends(staff_with(EDIT_BANK))]          # API, /contests/{contest_id}
    RoundJudgePage = Annotated[StaffAccess, Depends(staff_with(CLOSE_ROUND, "round", page=True))]

`staff_with` reads `contest_id` (or `round_id`, whose contest it looks up) from the path, checks
the permission there and returns the caller's StaffAccess. The API flavour answers 401/403 JSON;
the page flavour sends a visitor who is not logged in to the login page, checks a form's CSRF
token first (as every console form did), and answers 403 with the error page.
tests/admin/test_declared_permissions.py fails on a console route that declares none.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import cache
from typing import Annotated, Literal
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.contests.service import get_round
from app.core.deps import SAFE_METHODS, get_db, page_session, require_session
from app.core.errors import AppError
from app.core.sessions import Session
from app.staff.models import StaffAssignment
from app.staff.roles import (
    ADMIN,
    CLOSE_ROUND,
    EDIT_CONTEST,
    REGRADE,
    REVIEW_INTEGRITY,
    VIEW_DASHBOARD,
    StaffAccess,
    StaffForbidden,
)
from app.web.forms import page_form

Scope = Literal["contest", "round", "any"]


async def load_access(db: AsyncSession, user_id: int) -> StaffAccess | None:
    user = await db.get(User, user_id)
    if user is None:
        return None
    roles: dict[int, set[str]] = {}
    for contest_id, role in await db.execute(
        select(StaffAssignment.contest_id, StaffAssignment.role).where(StaffAssignment.user_id == user_id)
    ):
        roles.setdefault(contest_id, set()).add(role)
    return StaffAccess(user.id, user.full_name, user.role == ADMIN, {k: frozenset(v) for k, v in roles.items()})


async def api_staff(session: Session = Depends(require_session), db: AsyncSession = Depends(get_db)) -> StaffAccess:
    access = await load_access(db, session.user_id)
    if access is None or not access.is_staff:
        raise StaffForbidden()
    return access


class LoginRedirect(AppError):
    """Sends a visitor who is not logged in to the login page, then back (pages only)."""

    def __init__(self, path: str):
        super().__init__(
            "login_required", "Bạn cần đăng nhập để tiếp tục.", 303, headers={"Location": f"/login?next={quote(path)}"}
        )


def back_after_login(request: Request) -> str:
    """Where to come back after logging in: this page, or for a form sent while logged out (a POST
    URL a browser cannot GET) the page the form was on, else the console's home."""
    if request.method in ("GET", "HEAD"):
        return request.url.path
    referer = urlsplit(request.headers.get("referer", ""))
    same_site = not referer.netloc or referer.netloc == request.url.netloc
    path = referer.path
    if same_site and path.startswith("/") and not path.startswith("//") and path != request.url.path:
        return path
    return "/admin"


async def page_staff(
    request: Request, session: Session | None = Depends(page_session), db: AsyncSession = Depends(get_db)
) -> StaffAccess:
    if session is None:
        raise LoginRedirect(back_after_login(request))
    access = await load_access(db, session.user_id)
    if access is None:
        raise LoginRedirect(back_after_login(request))
    if not access.is_staff:
        raise StaffForbidden()
    return access


StaffDependency = Callable[..., Awaitable[StaffAccess]]


@cache  # one callable per (permission, scope, flavour): FastAPI then runs it once per request
def staff_with(permission: str, scope: Scope = "contest", *, page: bool = False) -> StaffDependency:
    """The dependency a staff route declares: the caller must hold `permission` in the contest of
    the path's `contest_id` (scope "contest") or of the path's `round_id` (scope "round", 404 when
    there is no such round). `ADMIN` with scope "any" requires a system administrator. Returns the
    caller's StaffAccess; `.permission` and `.scope` tell tests (and readers) what it checks."""
    base = page_staff if page else api_staff

    async def form_first(request: Request) -> None:
        # Pages: a console form's CSRF token is checked before anything is looked up.
        if page and request.method not in SAFE_METHODS:
            await page_form(request)

    dependency: StaffDependency
    if scope == "contest":

        async def in_contest(request: Request, contest_id: int, access: StaffAccess = Depends(base)) -> StaffAccess:
            await form_first(request)
            access.require(permission, contest_id)
            return access

        dependency = in_contest
    elif scope == "round":

        async def in_round(
            request: Request, round_id: int, access: StaffAccess = Depends(base), db: AsyncSession = Depends(get_db)
        ) -> StaffAccess:
            await form_first(request)
            access.require(permission, (await get_round(db, round_id)).contest_id)
            return access

        dependency = in_round
    else:
        if permission != ADMIN:
            raise ValueError("scope 'any' is for ADMIN only: a contest permission needs its contest")

        async def admin_only(request: Request, access: StaffAccess = Depends(base)) -> StaffAccess:
            await form_first(request)
            access.require_admin()
            return access

        dependency = admin_only
    dependency.__dict__.update(permission=permission, scope=scope)
    return dependency


# Any staff member (the console's home, a job's owner, checks made per object in the service):
# routes using these are on the allow-list of tests/admin/test_declared_permissions.py.
AnyStaff = Annotated[StaffAccess, Depends(api_staff)]
AnyStaffPage = Annotated[StaffAccess, Depends(page_staff)]
Admin = Annotated[StaffAccess, Depends(staff_with(ADMIN, "any"))]
AdminPage = Annotated[StaffAccess, Depends(staff_with(ADMIN, "any", page=True))]

# The console's usual needs, checked in the contest of the path's contest or round. API flavour,
# then the pages' (login redirect, CSRF first, the error page).
ContestViewer = Annotated[StaffAccess, Depends(staff_with(VIEW_DASHBOARD))]
ContestEditor = Annotated[StaffAccess, Depends(staff_with(EDIT_CONTEST))]
RoundViewer = Annotated[StaffAccess, Depends(staff_with(VIEW_DASHBOARD, "round"))]
RoundEditor = Annotated[StaffAccess, Depends(staff_with(EDIT_CONTEST, "round"))]
RoundCloser = Annotated[StaffAccess, Depends(staff_with(CLOSE_ROUND, "round"))]
RoundRegrader = Annotated[StaffAccess, Depends(staff_with(REGRADE, "round"))]
RoundReviewer = Annotated[StaffAccess, Depends(staff_with(REVIEW_INTEGRITY, "round"))]

ContestViewerPage = Annotated[StaffAccess, Depends(staff_with(VIEW_DASHBOARD, page=True))]
ContestEditorPage = Annotated[StaffAccess, Depends(staff_with(EDIT_CONTEST, page=True))]
RoundViewerPage = Annotated[StaffAccess, Depends(staff_with(VIEW_DASHBOARD, "round", page=True))]
RoundEditorPage = Annotated[StaffAccess, Depends(staff_with(EDIT_CONTEST, "round", page=True))]
RoundCloserPage = Annotated[StaffAccess, Depends(staff_with(CLOSE_ROUND, "round", page=True))]
RoundRegraderPage = Annotated[StaffAccess, Depends(staff_with(REGRADE, "round", page=True))]
RoundReviewerPage = Annotated[StaffAccess, Depends(staff_with(REVIEW_INTEGRITY, "round", page=True))]
