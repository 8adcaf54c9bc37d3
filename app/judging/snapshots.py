"""Freezing a round's final ranking: the judge confirms T, the ranking is computed from the
database (app.leaderboard.ranking) and written once, with a SHA-256 digest over its canonical form.

Digest: app/judging/canonical.py documents the exact bytes (format 2: only what the ranking
export shows, so the exported file alone recomputes it: `python -m app verify-export FILE`).
Snapshots frozen before format 2 keep their format 1 digest (see `digest_of`) and are verified by
it. Rows are never updated (database triggers, migration 0003); a re-grade writes a new version.

Closing is one transaction: attempts still open are closed and graded with what they saved, T is
stored and the ranking frozen, together. Boards follow after the commit and are built from the
snapshot itself, so the public final board, every export and the snapshot list the same people
in the same order."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.attempts.models import SUBMITTED, Attempt, AttemptAnswer
from app.attempts.service import AttemptDeps, record_and_forget
from app.contests.models import Round
from app.contests.service import get_round, round_cache
from app.core.errors import Conflict, Invalid, NotFound
from app.judging import canonical
from app.judging.frozen import iter_payloads, iter_rows, latest_snapshot  # noqa: F401 (re-exported)
from app.judging.models import RankingSnapshot, SnapshotRow
from app.leaderboard.ranking import RankedEntry, compute_truth, final_ranking
from app.leaderboard.rebuild import end_round, publish_final_board, rebuild_live_board
from app.questions.models import Option, Question
from app.staff import audit
from app.staff.roles import CLOSE_ROUND, REGRADE, StaffAccess

ROW_FIELDS = (
    "position",
    "user_id",
    "full_name",
    "unit",
    "province",
    "district",
    "commune",
    "attempt_id",
    "correct",
    "total",
    "prediction",
    "distance",
    "time_ms",
    "submitted_at",
)


def canonical_row(entry: RankedEntry) -> str:
    """The stored payload of a snapshot row (and format 1's canonical row): a JSON object."""
    row = {name: getattr(entry, name) for name in ROW_FIELDS}
    row["submitted_at"] = entry.submitted_at.astimezone(UTC).isoformat(timespec="milliseconds")
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest_of(round_id: int, version: int, truth: int | None, payloads) -> str:
    """Format 1: SHA-256 of "round:<id>|version:<n>|truth:<T or ->\\n" + the stored payloads joined
    by "\\n". Only for snapshots frozen in format 1; never changes."""
    sha = hashlib.sha256(f"round:{round_id}|version:{version}|truth:{'-' if truth is None else truth}\n".encode())
    for i, payload in enumerate(payloads):
        if i:
            sha.update(b"\n")
        sha.update(payload.encode("utf-8"))
    return sha.hexdigest()


def snapshot_digest(fmt: int, round_id: int, version: int, truth: int | None, payloads: list[str]) -> str:
    """The digest of stored payloads in the given canonical format."""
    if fmt == 1:
        return digest_of(round_id, version, truth, payloads)
    if fmt == canonical.FORMAT:
        return canonical.digest(round_id, version, truth, (canonical.row_of(RankedEntry.parse(p)) for p in payloads))
    raise ValueError(f"unknown canonical format {fmt}")


async def snapshots_of(db: AsyncSession, round_id: int) -> list[RankingSnapshot]:
    return list(
        (
            await db.scalars(
                select(RankingSnapshot)
                .where(RankingSnapshot.round_id == round_id)
                .order_by(RankingSnapshot.version.desc())
            )
        ).all()
    )


async def get_snapshot(db: AsyncSession, snapshot_id: int) -> RankingSnapshot:
    snapshot = await db.get(RankingSnapshot, snapshot_id)
    if snapshot is None:
        raise NotFound("snapshot_not_found", "Không tìm thấy bảng kết quả đã chốt.")
    return snapshot


async def verify(db: AsyncSession, snapshot: RankingSnapshot) -> bool:
    """Recomputes the digest from the stored rows, in the snapshot's own canonical format."""
    payloads = [p async for p in iter_payloads(db, snapshot.id)]
    return len(payloads) == snapshot.row_count and snapshot.digest == snapshot_digest(
        snapshot.canonical_format or 1, snapshot.round_id, snapshot.version, snapshot.truth, payloads
    )


async def freeze(
    db: AsyncSession,
    actor: StaffAccess | None,
    round_: Round,
    truth: int | None,
    suggested: int,
    reason: str,
    note: str,
) -> RankingSnapshot:
    ranking = await final_ranking(db, round_.id, truth)
    version = (
        await db.scalar(select(func.max(RankingSnapshot.version)).where(RankingSnapshot.round_id == round_.id)) or 0
    ) + 1
    payloads = [canonical_row(e) for e in ranking]
    stored_truth = truth if round_.prediction_enabled else None
    snapshot = RankingSnapshot(
        round_id=round_.id,
        version=version,
        reason=reason,
        truth=stored_truth,
        suggested_truth=suggested,
        note=note,
        row_count=len(payloads),
        canonical_format=canonical.FORMAT,
        digest=canonical.digest(round_.id, version, stored_truth, (canonical.row_of(e) for e in ranking)),
        created_by_id=actor.user_id if actor else None,
        created_by_name=actor.name if actor else "(dòng lệnh)",
    )
    db.add(snapshot)
    await db.flush()
    for start in range(0, len(payloads), 5000):
        await db.execute(
            SnapshotRow.__table__.insert(),  # type: ignore[attr-defined]
            [
                {"snapshot_id": snapshot.id, "position": i + 1, "payload": p}
                for i, p in enumerate(payloads[start : start + 5000], start=start)
            ],
        )
    return snapshot


async def close_round(
    deps: AttemptDeps, redis, actor: StaffAccess, round_id: int, truth: int | None, note: str = ""
) -> RankingSnapshot:
    """The judge closes the round: attempts still open are closed with what they saved, T confirmed
    (None = the computed value) and the ranking frozen, in ONE transaction; then the final board is
    published from the snapshot. A round is closed once; corrections go through `regrade`."""
    db = deps.db
    round_ = await get_round(db, round_id)
    actor.require(CLOSE_ROUND, round_.contest_id)
    if truth is not None and truth < 0:
        raise Invalid("invalid_truth", "Số người trả lời đúng tất cả phải là số nguyên không âm.")
    already = Conflict(
        "round_already_closed",
        "Đợt thi đã được chốt kết quả. Muốn sửa, hãy dùng “Chấm lại”: "
        "hệ thống tạo một bảng kết quả mới, bảng cũ vẫn được giữ.",
    )
    if await latest_snapshot(db, round_id) is not None:
        raise already
    end = await end_round(deps, round_, truth)
    snapshot = await freeze(db, actor, round_, end.prediction_truth, end.computed_truth, "close", note)
    audit.record(
        db,
        actor,
        "round.close",
        contest_id=round_.contest_id,
        round_id=round_id,
        target=f"snapshot:{snapshot.id}",
        after={
            "truth": snapshot.truth,
            "computed_truth": end.computed_truth,
            "closed_open_attempts": len(end.closed_attempts),
            "participants": snapshot.row_count,
            "digest": snapshot.digest,
            "version": snapshot.version,
        },
    )
    try:
        await db.commit()
    except IntegrityError as exc:  # another judge froze it at the same moment (version 1 is unique)
        await db.rollback()
        raise already from exc
    round_cache(db).clear()
    await record_and_forget(deps, end.closed_attempts)
    await publish_final_board(db, redis, round_id, end.prediction_truth)
    return snapshot


@dataclass
class RoundRescored:
    round_id: int
    round_name: str
    rescored_attempts: int
    snapshot_version: int | None  # the new frozen version; None: the round was not frozen


@dataclass
class Regraded:
    snapshot: RankingSnapshot  # the new version of the round the judge re-graded from
    rounds: list[RoundRescored] = field(default_factory=list)  # every round that used the question

    @property
    def version(self) -> int:
        return self.snapshot.version


async def regrade(
    deps: AttemptDeps,
    redis,
    actor: StaffAccess,
    round_id: int,
    question_id: int,
    correct_option_id: int,
    truth: int | None,
    note: str,
) -> Regraded:
    """A question was found wrong: its key becomes `correct_option_id`, and EVERY round of the
    contest whose attempts answered the question is re-scored in the same transaction; each of
    them that was frozen gets a new snapshot version (T recomputed; for this round the judge's T
    if given), with one audit entry per round. Rounds still running are re-scored (attempts still
    open are graded with the new key when they close). Earlier snapshots stay exactly as they were."""
    db = deps.db
    round_ = await get_round(db, round_id)
    actor.require(REGRADE, round_.contest_id)
    if not note.strip():
        raise Invalid("note_required", "Hãy ghi lý do chấm lại (ví dụ: đáp án câu hỏi bị sai).")
    if await latest_snapshot(db, round_id) is None:
        raise Conflict("round_not_closed", "Đợt thi chưa được chốt kết quả: hãy chốt trước khi chấm lại.")
    question = await db.get(Question, question_id)
    if question is None or question.contest_id != round_.contest_id:
        raise NotFound("question_not_found", "Không tìm thấy câu hỏi trong ngân hàng của cuộc thi này.")
    options = (
        await db.scalars(select(Option).where(Option.question_id == question_id).order_by(Option.position))
    ).all()
    if correct_option_id not in {o.id for o in options}:
        raise Invalid("invalid_option", "Phương án đúng mới không thuộc câu hỏi này.")
    before_key = next((o.id for o in options if o.is_correct), None)
    for option in options:
        option.is_correct = option.id == correct_option_id
    await db.flush()
    used = set(
        (
            await db.scalars(
                select(Attempt.round_id)
                .distinct()
                .join(AttemptAnswer, AttemptAnswer.attempt_id == Attempt.id)
                .where(AttemptAnswer.question_id == question_id)
            )
        ).all()
    ) | {round_id}
    rounds = (await db.scalars(select(Round).where(Round.id.in_(used)).order_by(Round.id))).all()
    report, frozen, target = [], [], None
    for r in rounds:
        rescored = await _rescore_round(db, r.id, question_id)
        snapshot = None
        if await latest_snapshot(db, r.id) is not None:
            computed = await compute_truth(db, r.id)
            value = truth if (r.id == round_id and truth is not None) else computed
            await db.execute(update(Round).where(Round.id == r.id).values(prediction_truth=value))
            snapshot = await freeze(db, actor, r, value, computed, "regrade", note.strip())
            frozen.append((r.id, value))
            if r.id == round_id:
                target = snapshot
        report.append(RoundRescored(r.id, r.name, rescored, snapshot.version if snapshot else None))
        audit.record(
            db,
            actor,
            "question.regrade",
            contest_id=r.contest_id,
            round_id=r.id,
            target=f"question:{question_id}",
            before={"correct_option_id": before_key},
            after={
                "correct_option_id": correct_option_id,
                "rescored_attempts": rescored,
                "note": note.strip(),
                "requested_in_round": round_id,
                **(
                    {"snapshot_version": snapshot.version, "digest": snapshot.digest, "truth": snapshot.truth}
                    if snapshot
                    else {"frozen": False}
                ),
            },
        )
    await db.commit()
    round_cache(db).clear()
    for r in rounds:  # boards follow the record (a failure here is repaired by a rebuild)
        await rebuild_live_board(db, redis, r.id)
    for rid, value in frozen:
        await publish_final_board(db, redis, rid, value)
    return Regraded(target, report)  # type: ignore[arg-type]  # the judge's round was frozen (checked above)


async def _rescore_round(db: AsyncSession, round_id: int, question_id: int) -> int:
    """Recounts `correct` of the round's submitted attempts that contain the question."""
    attempt_ids = (
        await db.scalars(
            select(AttemptAnswer.attempt_id)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .where(Attempt.round_id == round_id, Attempt.status == SUBMITTED, AttemptAnswer.question_id == question_id)
        )
    ).all()
    for attempt_id in attempt_ids:
        correct = await db.scalar(
            select(func.count())
            .select_from(AttemptAnswer)
            .join(Option, Option.id == AttemptAnswer.option_id)
            .where(AttemptAnswer.attempt_id == attempt_id, Option.is_correct.is_(True))
        )
        await db.execute(update(Attempt).where(Attempt.id == attempt_id).values(correct=correct))
    return len(attempt_ids)
