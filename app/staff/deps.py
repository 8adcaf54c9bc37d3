"""FastAPI dependencies of the consoles: every staff page and API call loads the caller's roles
from the database (not from the session, so a revoked role takes effect at once) and refuses
anyone who is not staff with 403 and a Vietnamese message."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.deps import check_csrf, get_db, page_session, require_session
from app.core.errors import AppError
from app.core.sessions import Session
from app.staff.models import StaffAssignment
from app.staff.roles import ADMIN, StaffAccess, StaffForbidden


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


async def checked_form(request: Request):
    """The submitted form of a console page, after the CSRF check every write needs."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    return form
