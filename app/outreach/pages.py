"""Outreach pages: the contest's short link and preview image, invitation links, shared results
(public), and the organizer's "Lan tỏa" tab with QR codes and the printable notice (console)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.localities import PROVINCES
from app.attempts.views import result_out
from app.contests.editing import get_contest_for
from app.contests.models import Contest, ContestBanner, Round
from app.core.deps import DbDep, PageSessionDep
from app.core.errors import AppError, NotFound
from app.core.runtime import RuntimeDep, request_runtime
from app.leaderboard.privacy import mask_name, name_style
from app.outreach import qr, service
from app.outreach.models import COMMUNE, UNIT
from app.staff.deps import ContestEditorPage, ContestViewerPage
from app.staff.roles import EDIT_CONTEST, VIEW_DASHBOARD, StaffAccess
from app.web.forms import PageForm
from app.web.render import page, set_flash, templates

public = APIRouter(include_in_schema=False)
console = APIRouter(prefix="/admin", include_in_schema=False)

DEFAULT_PREVIEW = Path(__file__).resolve().parents[1] / "web" / "static" / "og-default.png"


def _share_link(request: Request, attempt_id: int) -> str:
    secret = request_runtime(request).settings.effective_secret_key
    return service.public_url(request, f"/s/{service.share_token(secret, attempt_id)}")


# Templates build absolute addresses (Open Graph, canonical, share links) with these.
templates.env.globals["public_url"] = service.public_url
templates.env.globals["share_link"] = _share_link


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# --- public ----------------------------------------------------------------------------------------


@public.get("/c/{contest_id}")
async def short_link(contest_id: int):
    """The short address printed under the QR code, for typing by hand."""
    return RedirectResponse(f"/contests/{contest_id}", status_code=302)


@public.get("/contests/{contest_id}/preview-image")
async def preview_image(contest_id: int, db: DbDep):
    """The picture of a link preview (og:image): the contest's banner, else the site's card."""
    banner = await db.get(ContestBanner, contest_id)
    if banner is None:
        return FileResponse(DEFAULT_PREVIEW, media_type="image/png", headers={"cache-control": "public, max-age=3600"})
    return Response(
        banner.data,
        media_type=banner.content_type,
        headers={"cache-control": "public, max-age=300", "etag": f'"{banner.sha256}"'},
    )


@public.get("/i/{code}")
async def invitation_page(code: str, request: Request, db: DbDep, session: PageSessionDep):
    invitation = await service.invitation_by_code(db, code)
    contest_page = f"/contests/{invitation.contest_id}"
    if session is not None:
        response = _redirect(contest_page)
        set_flash(response, "Bạn đã đăng nhập: mời bạn chọn đợt thi bên dưới.")
        return response
    return page(
        request,
        "register.html",
        provinces=PROVINCES,
        values=service.prefill(invitation),
        errors={},
        invitation=invitation,
        next=contest_page,
        form_action=f"/register?next={quote(contest_page, safe='/')}",
    )


@public.get("/s/{token}")
async def shared_result(token: str, request: Request, runtime: RuntimeDep, db: DbDep):
    secret = runtime.settings.effective_secret_key
    attempt, user = await service.shared_result(db, service.attempt_of_token(secret, token))
    round_ = await db.get(Round, attempt.round_id)
    contest = await db.get(Contest, round_.contest_id) if round_ else None
    if round_ is None or contest is None or not contest.published:
        raise NotFound("share_not_found", "Không tìm thấy kết quả được chia sẻ.")
    # The name exactly as the round's public board shows it (the organizer's choice), nothing more.
    shown = mask_name(user.full_name, await name_style(db, round_.id, runtime.settings.leaderboard_name_style))
    return page(
        request,
        "outreach/share.html",
        result=result_out(attempt),
        round=round_,
        contest=contest,
        shown_name=shown,
        token=token,
    )


# --- console ---------------------------------------------------------------------------------------


def _target(request: Request, contest_id: int, invitation=None) -> str:
    return service.public_url(request, f"/i/{invitation.code}" if invitation else f"/c/{contest_id}")


async def _invitation_or_none(db: AsyncSession, contest_id: int, code: str | None):
    if not code:
        return None
    invitation = await service.invitation_by_code(db, code)
    if invitation.contest_id != contest_id:
        raise NotFound("invitation_not_found", "Đường dẫn mời không thuộc cuộc thi này.")
    return invitation


async def _outreach_page(
    request: Request,
    db: AsyncSession,
    actor: StaffAccess,
    contest_id: int,
    *,
    status: int = 200,
    errors: dict | None = None,
    values: dict | None = None,
):
    contest = await get_contest_for(db, actor, contest_id, VIEW_DASHBOARD)
    return page(
        request,
        "outreach/console.html",
        status=status,
        actor=actor,
        contest=contest,
        tab="outreach",
        contest_link=service.public_url(request, f"/c/{contest_id}"),
        invitations=await service.invitation_counts(db, contest_id),
        provinces=PROVINCES,
        can_edit=actor.can(EDIT_CONTEST, contest_id),
        errors=errors or {},
        values=values or {},
        invite_base=service.public_url(request, "/i/"),
    )


@console.get("/contests/{contest_id}/outreach")
async def outreach_tab(contest_id: int, request: Request, actor: ContestViewerPage, db: DbDep):
    return await _outreach_page(request, db, actor, contest_id)


@console.post("/contests/{contest_id}/invitations")
async def create_invitation(contest_id: int, request: Request, actor: ContestEditorPage, db: DbDep, form: PageForm):
    values = {k: str(form.get(k, "")) for k in ("kind", "unit", "province", "commune")}
    await get_contest_for(db, actor, contest_id, EDIT_CONTEST)
    try:
        invitation = await service.create_invitation(db, contest_id, actor.user_id, **values)
    except AppError as exc:
        return await _outreach_page(
            request,
            db,
            actor,
            contest_id,
            status=exc.status,
            values=values,
            errors=(exc.details or {}).get("fields") or {"form": exc.message},
        )
    response = _redirect(f"/admin/contests/{contest_id}/outreach#invitations")
    set_flash(response, f"Đã tạo đường dẫn mời cho {invitation.label}: {_target(request, contest_id, invitation)}")
    return response


@console.get("/contests/{contest_id}/qr.{kind}")
async def qr_code(
    contest_id: int,
    kind: str,
    request: Request,
    actor: ContestViewerPage,
    db: DbDep,
    invite: str | None = None,
):
    contest = await get_contest_for(db, actor, contest_id, VIEW_DASHBOARD)
    invitation = await _invitation_or_none(db, contest_id, invite)
    url = _target(request, contest_id, invitation)
    name = f"ma-qr-cuoc-thi-{contest_id}" + (f"-{invitation.code}" if invitation else "")
    if kind == "svg":
        body, media = qr.svg(url, title=contest.title), "image/svg+xml"
    elif kind == "png":
        body, media = qr.png(url), "image/png"
    else:
        raise NotFound("not_found", "Không tìm thấy trang.")
    disposition = "attachment" if request.query_params.get("download") else "inline"
    return Response(
        body,
        media_type=media,
        headers={
            "content-disposition": f'{disposition}; filename="{name}.{kind}"',
            "cache-control": "private, max-age=300",
        },
    )


@console.get("/contests/{contest_id}/notice")
async def printable_notice(
    contest_id: int,
    request: Request,
    actor: ContestViewerPage,
    db: DbDep,
    invite: str | None = None,
):
    contest = await get_contest_for(db, actor, contest_id, VIEW_DASHBOARD)
    invitation = await _invitation_or_none(db, contest_id, invite)
    rounds = (await db.scalars(select(Round).where(Round.contest_id == contest_id).order_by(Round.open_at))).all()
    url = _target(request, contest_id, invitation)
    rules = [p.strip() for p in (contest.rules_text or "").split("\n") if p.strip()]
    return page(
        request,
        "outreach/notice.html",
        contest=contest,
        rounds=rounds,
        invitation=invitation,
        link=url,
        short=service.short_label(url),
        rules=rules[:4],
        more_rules=len(rules) > 4,
        code=qr.inline_svg(url, f"Mã QR: {service.short_label(url)}"),
    )


__all__ = ["public", "console", "COMMUNE", "UNIT"]
