"""Excluding an account from a round's results (and lifting an exclusion).

Built on the ranking's versioning (app.judging.snapshots): the results of a round are always
computed from the database without the excluded accounts (app.leaderboard.ranking), so when the
round is already closed an exclusion re-publishes the final board and freezes a new version —
re-ranked, with its own SHA-256 — while earlier versions stay exactly as they were. Before the
round is closed the exclusion is simply applied when it is. Every step is in the audit log, and
the prize export lists the excluded accounts with the reason."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.attempts.models import Attempt
from app.attempts.service import AttemptDeps
from app.contests.models import Round
from app.contests.service import get_round, round_cache
from app.core.clock import utcnow
from app.core.errors import Conflict, Invalid, NotFound
from app.integrity.models import ResultExclusion
from app.judging import snapshots
from app.judging.models import RankingSnapshot
from app.leaderboard.ranking import compute_truth
from app.leaderboard.rebuild import publish_final_board
from app.staff import audit
from app.staff.roles import REVIEW_INTEGRITY, StaffAccess

log = logging.getLogger("app.integrity")
EXCLUDE = "exclude"
REINSTATE = "reinstate"


@dataclass(frozen=True)
class ExclusionOutcome:
    exclusion: ResultExclusion
    snapshot: RankingSnapshot | None  # the new version, when the round was already closed


async def is_excluded(db: AsyncSession, round_id: int, user_id: int) -> bool:
    return (
        await db.scalar(
            select(ResultExclusion.id)
            .where(
                ResultExclusion.round_id == round_id,
                ResultExclusion.user_id == user_id,
                ResultExclusion.lifted_at.is_(None),
            )
            .limit(1)
        )
        is not None
    )


async def exclusions_of(
    db: AsyncSession, round_id: int, *, active_only: bool = False
) -> list[tuple[ResultExclusion, User]]:
    query = (
        select(ResultExclusion, User)
        .join(User, User.id == ResultExclusion.user_id)
        .where(ResultExclusion.round_id == round_id)
        .order_by(ResultExclusion.id)
    )
    if active_only:
        query = query.where(ResultExclusion.lifted_at.is_(None))
    return [(e, u) for e, u in await db.execute(query)]


def _reason(text: str | None, message: str) -> str:
    text = (text or "").strip()
    if not text:
        raise Invalid("reason_required", message)
    return text[:2000]


async def _refreeze(
    deps: AttemptDeps, redis, actor: StaffAccess, round_: Round, truth: int | None, reason: str, note: str
) -> RankingSnapshot | None:
    """After the exclusion change is committed: a closed round gets its final board re-published
    and a new frozen version (T recomputed unless the judge gives it); an open one its live board
    rebuilt."""
    db = deps.db
    if await snapshots.latest_snapshot(db, round_.id) is None:
        if utcnow() < round_.close_at:
            try:
                from app.leaderboard.rebuild import rebuild_live_board

                await rebuild_live_board(db, redis, round_.id)
            except Exception:  # the board heals on its next rebuild; the exclusion is recorded
                log.warning("live board of round %s not rebuilt after an exclusion", round_.id, exc_info=True)
        return None
    # A frozen round: T recomputed (unless given) and the new version frozen in one transaction;
    # then the public final board follows the new version (app.leaderboard.rebuild builds it
    # from the latest snapshot, and any later rebuild does the same).
    computed = await compute_truth(db, round_.id)
    value = truth if truth is not None else computed
    await db.execute(update(Round).where(Round.id == round_.id).values(prediction_truth=value))
    snapshot = await snapshots.freeze(db, actor, round_, value, computed, reason, note)
    await db.commit()
    round_cache(db).clear()
    try:
        await publish_final_board(db, redis, round_.id, value)
    except Exception:  # the board heals on its next rebuild (from this snapshot); the version is recorded
        log.warning("final board of round %s not republished after an exclusion", round_.id, exc_info=True)
    return snapshot


async def exclude(
    deps: AttemptDeps, redis, actor: StaffAccess, round_id: int, user_id: int, reason: str, truth: int | None = None
) -> ExclusionOutcome:
    db = deps.db
    round_ = await get_round(db, round_id)
    actor.require(REVIEW_INTEGRITY, round_.contest_id)
    reason = _reason(reason, "Hãy ghi lý do loại tài khoản khỏi kết quả (Ban giám khảo phải giải trình được).")
    if truth is not None and truth < 0:
        raise Invalid("invalid_truth", "Số người trả lời đúng tất cả phải là số nguyên không âm.")
    user = await db.get(User, user_id)
    sat = await db.scalar(select(Attempt.id).where(Attempt.round_id == round_id, Attempt.user_id == user_id).limit(1))
    if user is None or sat is None:
        raise NotFound("not_a_participant", "Tài khoản này không có lượt thi nào trong đợt thi.")
    if await is_excluded(db, round_id, user_id):
        raise Conflict("already_excluded", "Tài khoản này đã bị loại khỏi kết quả đợt thi.")
    exclusion = ResultExclusion(
        round_id=round_id,
        user_id=user_id,
        reason=reason,
        created_at=utcnow(),
        created_by_id=actor.user_id,
        created_by_name=actor.name,
    )
    db.add(exclusion)
    await db.commit()
    try:
        snapshot = await _refreeze(
            deps, redis, actor, round_, truth, EXCLUDE, f"Loại {user.full_name} (tài khoản #{user.id}): {reason}"
        )
    except BaseException:  # no exclusion without its ranking version: undo, let the judge retry
        await db.rollback()
        await db.execute(delete(ResultExclusion).where(ResultExclusion.id == exclusion.id))
        await db.commit()
        raise
    audit.record(
        db,
        actor,
        "result.exclude",
        contest_id=round_.contest_id,
        round_id=round_id,
        target=f"user:{user_id}",
        after={"name": user.full_name, "reason": reason, "exclusion_id": exclusion.id, **_snapshot_facts(snapshot)},
    )
    await db.commit()
    return ExclusionOutcome(exclusion, snapshot)


async def reinstate(
    deps: AttemptDeps, redis, actor: StaffAccess, exclusion_id: int, reason: str, truth: int | None = None
) -> ExclusionOutcome:
    db = deps.db
    exclusion = await db.get(ResultExclusion, exclusion_id)
    if exclusion is None:
        raise NotFound("exclusion_not_found", "Không tìm thấy quyết định loại tài khoản.")
    round_ = await get_round(db, exclusion.round_id)
    actor.require(REVIEW_INTEGRITY, round_.contest_id)
    reason = _reason(reason, "Hãy ghi lý do khôi phục tài khoản vào kết quả.")
    if exclusion.lifted_at is not None:
        raise Conflict("already_reinstated", "Tài khoản này đã được khôi phục vào kết quả.")
    exclusion.lifted_at, exclusion.lifted_by_name, exclusion.lift_reason = utcnow(), actor.name, reason
    user = await db.get(User, exclusion.user_id)
    assert user is not None  # an exclusion's account is never deleted (foreign key)
    await db.commit()
    try:
        snapshot = await _refreeze(
            deps, redis, actor, round_, truth, REINSTATE, f"Khôi phục {user.full_name} (tài khoản #{user.id}): {reason}"
        )
    except BaseException:
        await db.rollback()
        await db.execute(
            update(ResultExclusion)
            .where(ResultExclusion.id == exclusion_id)
            .values(lifted_at=None, lifted_by_name=None, lift_reason=None)
        )
        await db.commit()
        raise
    audit.record(
        db,
        actor,
        "result.reinstate",
        contest_id=round_.contest_id,
        round_id=round_.id,
        target=f"user:{exclusion.user_id}",
        before={"reason": exclusion.reason},
        after={"reason": reason, "exclusion_id": exclusion.id, **_snapshot_facts(snapshot)},
    )
    await db.commit()
    return ExclusionOutcome(exclusion, snapshot)


def _snapshot_facts(snapshot: RankingSnapshot | None) -> dict:
    if snapshot is None:
        return {"snapshot_version": None}
    return {
        "snapshot_version": snapshot.version,
        "digest": snapshot.digest,
        "truth": snapshot.truth,
        "participants": snapshot.row_count,
    }
