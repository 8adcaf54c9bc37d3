"""Plain functions behind the outreach pages: public addresses, invitation links and their counts,
and the signed links of shared results."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets

from sqlalchemy import distinct, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.localities import PROVINCES
from app.accounts.models import User
from app.attempts.models import Attempt
from app.core.errors import Invalid, NotFound
from app.core.runtime import request_runtime
from app.outreach.models import COMMUNE, UNIT, Invitation, InvitationSignup

log = logging.getLogger(__name__)

# Codes people may have to type from a poster: no 0/O, 1/l/I.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
CODE_LENGTH = 7


def public_base(request) -> str:
    """The address people reach the site at: PUBLIC_BASE_URL when set (what a printed poster and a
    link preview must carry, whatever address the organizer's console was opened at), else the
    request's own (behind the proxy, with --proxy-headers)."""
    configured = request_runtime(request).settings.public_base_url
    return (configured or str(request.base_url)).rstrip("/")


def public_url(request, path: str) -> str:
    return public_base(request) + path


def short_label(url: str) -> str:
    """The link as printed for typing by hand: no scheme."""
    return url.split("://", 1)[-1]


# --- invitation links ----------------------------------------------------------------------------


def _clean(value: str | None, limit: int) -> str | None:
    value = " ".join((value or "").split())
    return value[:limit] or None


async def create_invitation(
    db: AsyncSession,
    contest_id: int,
    actor_id: int,
    *,
    kind: str,
    unit: str | None = None,
    province: str | None = None,
    commune: str | None = None,
) -> Invitation:
    unit, province, commune = _clean(unit, 200), _clean(province, 80), _clean(commune, 80)
    problems: dict[str, str] = {}
    if kind == UNIT:
        if not unit:
            problems["unit"] = "Nhập tên đơn vị của đường dẫn mời."
        if province and province not in PROVINCES:
            problems["province"] = "Chọn tỉnh/thành phố trong danh sách."
        label = unit or ""
    elif kind == COMMUNE:
        if province not in PROVINCES:
            problems["province"] = "Chọn tỉnh/thành phố của xã/phường."
        if not commune:
            problems["commune"] = "Nhập tên xã/phường/đặc khu."
        label = f"{commune}, {province}" if commune and province else ""
    else:
        problems["kind"] = "Chọn loại đường dẫn mời: theo đơn vị hoặc theo xã/phường."
        label = ""
    if problems:
        raise Invalid(
            "invalid_invitation",
            "Đường dẫn mời chưa hợp lệ: " + " ".join(problems.values()),
            details={"fields": problems},
        )
    for _ in range(5):  # 31^7 codes: a collision is rare, and retried
        invitation = Invitation(
            contest_id=contest_id,
            code="".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH)),
            kind=kind,
            label=label[:200],
            unit=unit if kind == UNIT else None,
            province=province,
            commune=commune if kind == COMMUNE else None,
            created_by=actor_id,
        )
        db.add(invitation)
        try:
            await db.commit()
            return invitation
        except IntegrityError:
            await db.rollback()
    raise RuntimeError("no free invitation code")


async def invitation_by_code(db: AsyncSession, code: str) -> Invitation:
    invitation = await db.scalar(select(Invitation).where(Invitation.code == (code or "")[:16].lower()))
    if invitation is None:
        raise NotFound(
            "invitation_not_found", "Đường dẫn mời không đúng hoặc đã bị xoá. Bạn vẫn có thể đăng ký bình thường."
        )
    return invitation


def prefill(invitation: Invitation) -> dict[str, str]:
    """The registration form's values an invitation fills in (the person may still change them)."""
    values = {"invite": invitation.code}
    for field in ("unit", "province", "commune"):
        if getattr(invitation, field):
            values[field] = getattr(invitation, field)
    return values


async def record_signup(db: AsyncSession, user_id: int, code: str | None) -> None:
    """Counts a registration for the invitation it came through; an unknown code counts for nobody
    (the registration itself never fails because of it)."""
    if not code:
        return
    invitation = await db.scalar(select(Invitation).where(Invitation.code == str(code)[:16].lower()))
    if invitation is None:
        return
    db.add(InvitationSignup(user_id=user_id, invitation_id=invitation.id))
    try:
        await db.commit()
    except IntegrityError:  # counted already
        await db.rollback()


async def count_registration(request, db: AsyncSession, user_id: int) -> None:
    """After a registration on the page: counts it for the invitation link the form came from
    (a hidden field of the prefilled form). Wired to the runtime's account events (app/wiring.py);
    never fails the registration."""
    try:
        if "form" in request.headers.get("content-type", ""):
            await record_signup(db, user_id, (await request.form()).get("invite"))
    except Exception:  # the registration is done; a lost count must not turn it into an error page
        log.exception("invitation signup not counted")


async def invitation_counts(db: AsyncSession, contest_id: int, round_id: int | None = None) -> list[dict]:
    """Every invitation link of the contest with the registrations made through it and, for a round,
    how many of them took part: the collective-prize race, most registrations first."""
    signups = func.count(distinct(InvitationSignup.user_id))
    rows = (
        await db.execute(
            select(Invitation, signups)
            .outerjoin(InvitationSignup, InvitationSignup.invitation_id == Invitation.id)
            .where(Invitation.contest_id == contest_id)
            .group_by(Invitation.id)
        )
    ).all()
    took_part: dict[int, int] = {}
    if round_id is not None:
        took_part = dict(
            (
                await db.execute(
                    select(InvitationSignup.invitation_id, func.count(distinct(Attempt.user_id)))
                    .join(Attempt, Attempt.user_id == InvitationSignup.user_id)
                    .join(Invitation, Invitation.id == InvitationSignup.invitation_id)
                    .where(Attempt.round_id == round_id, Invitation.contest_id == contest_id)
                    .group_by(InvitationSignup.invitation_id)
                )
            ).all()
        )
    items: list[dict] = [
        {
            "id": inv.id,
            "code": inv.code,
            "kind": inv.kind,
            "label": inv.label,
            "registrations": n or 0,
            "participants": took_part.get(inv.id, 0),
            "created_at": inv.created_at,
        }
        for inv, n in rows
    ]
    items.sort(key=lambda item: (-int(item["registrations"]), str(item["label"])))
    return items


# --- shared results ------------------------------------------------------------------------------


def _share_key(secret: str) -> bytes:
    return hashlib.sha256(f"share-result:{secret}".encode()).digest()


def share_token(secret: str, attempt_id: int) -> str:
    """An unguessable link to one attempt's result card: the id and an HMAC over it, so the
    links of other attempts cannot be made by counting."""
    ident = str(attempt_id)
    tag = hmac.new(_share_key(secret), ident.encode(), hashlib.sha256).digest()[:12]
    return ident + "-" + base64.urlsafe_b64encode(tag).decode().rstrip("=")


def attempt_of_token(secret: str, token: str) -> int:
    ident, _, _tag = (token or "").partition("-")
    if not ident.isdigit() or len(ident) > 12 or not hmac.compare_digest(share_token(secret, int(ident)), token):
        raise NotFound("share_not_found", "Không tìm thấy kết quả được chia sẻ.")
    return int(ident)


async def shared_result(db: AsyncSession, attempt_id: int):
    """(attempt, user) of a submitted attempt; a shared link never shows one in progress."""
    row = (
        await db.execute(select(Attempt, User).join(User, User.id == Attempt.user_id).where(Attempt.id == attempt_id))
    ).first()
    if row is None or row[0].status == "in_progress":
        raise NotFound("share_not_found", "Không tìm thấy kết quả được chia sẻ.")
    return row
