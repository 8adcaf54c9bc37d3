"""Freezing a round's final ranking: the judge confirms T, the ranking is computed from the
database (app.leaderboard.final) and written once, with a SHA-256 digest over its canonical form.

Digest: SHA-256 of the UTF-8 bytes of
    "round:<id>|version:<n>|truth:<T or ->\n" + "\n".join(canonical JSON of each row, in order)
so anyone holding the rows (e.g. the exported file) can recompute it. Rows are never updated
(database triggers, migration 0003); a re-grade writes a new version."""
from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.admin import audit
from app.admin.roles import CLOSE_ROUND, REGRADE, StaffAccess
from app.attempts.models import SUBMITTED, Attempt, AttemptAnswer
from app.attempts.service import AttemptDeps
from app.contests.models import Round
from app.contests.service import get_round
from app.core.errors import Conflict, Invalid, NotFound
from app.judging.models import RankingSnapshot, SnapshotRow
from app.leaderboard.final import RankedEntry, compute_truth, final_ranking
from app.leaderboard.finalize import finalize_round
from app.questions.models import Option, Question

ROW_FIELDS = ("position", "user_id", "full_name", "unit", "province", "district", "commune", "attempt_id",
              "correct", "total", "prediction", "distance", "time_ms", "submitted_at")


def canonical_row(entry: RankedEntry) -> str:
    row = {name: getattr(entry, name) for name in ROW_FIELDS}
    row["submitted_at"] = entry.submitted_at.astimezone(timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def digest_of(round_id: int, version: int, truth: int | None, payloads) -> str:
    sha = hashlib.sha256(f"round:{round_id}|version:{version}|truth:{'-' if truth is None else truth}\n".encode())
    for i, payload in enumerate(payloads):
        if i:
            sha.update(b"\n")
        sha.update(payload.encode("utf-8"))
    return sha.hexdigest()


@dataclass(frozen=True)
class FrozenRow:
    position: int
    user_id: int
    full_name: str
    unit: str | None
    province: str | None
    district: str | None
    commune: str | None
    attempt_id: int
    correct: int
    total: int
    prediction: int | None
    distance: int | None
    time_ms: int
    submitted_at: datetime

    @classmethod
    def parse(cls, payload: str) -> FrozenRow:
        row = json.loads(payload)
        row["submitted_at"] = datetime.fromisoformat(row["submitted_at"])
        return cls(**row)


async def latest_snapshot(db: AsyncSession, round_id: int) -> RankingSnapshot | None:
    return await db.scalar(select(RankingSnapshot).where(RankingSnapshot.round_id == round_id)
                           .order_by(RankingSnapshot.version.desc()).limit(1))


async def snapshots_of(db: AsyncSession, round_id: int) -> list[RankingSnapshot]:
    return list((await db.scalars(select(RankingSnapshot).where(RankingSnapshot.round_id == round_id)
                                  .order_by(RankingSnapshot.version.desc()))).all())


async def get_snapshot(db: AsyncSession, snapshot_id: int) -> RankingSnapshot:
    snapshot = await db.get(RankingSnapshot, snapshot_id)
    if snapshot is None:
        raise NotFound("snapshot_not_found", "Không tìm thấy bảng kết quả đã chốt.")
    return snapshot


async def iter_rows(db: AsyncSession, snapshot_id: int, chunk: int = 5000) -> AsyncIterator[FrozenRow]:
    """Rows in order, a chunk at a time (keyset pagination: constant memory on 100,000 rows)."""
    last = 0
    while True:
        payloads = (await db.scalars(select(SnapshotRow.payload).where(SnapshotRow.snapshot_id == snapshot_id,
                                                                         SnapshotRow.position > last)
                                     .order_by(SnapshotRow.position).limit(chunk))).all()
        if not payloads:
            return
        for payload in payloads:
            yield FrozenRow.parse(payload)
        last += len(payloads)


async def verify(db: AsyncSession, snapshot: RankingSnapshot) -> bool:
    """Recomputes the digest from the stored rows."""
    payloads = []
    last = 0
    while True:
        chunk = (await db.scalars(select(SnapshotRow.payload).where(SnapshotRow.snapshot_id == snapshot.id,
                                                                      SnapshotRow.position > last)
                                  .order_by(SnapshotRow.position).limit(5000))).all()
        if not chunk:
            break
        payloads.extend(chunk)
        last += len(chunk)
    return len(payloads) == snapshot.row_count and \
        digest_of(snapshot.round_id, snapshot.version, snapshot.truth, payloads) == snapshot.digest


async def _freeze(db: AsyncSession, actor: StaffAccess | None, round_: Round, truth: int | None,
                  suggested: int, reason: str, note: str) -> RankingSnapshot:
    ranking = await final_ranking(db, round_.id, truth)
    version = (await db.scalar(select(func.max(RankingSnapshot.version))
                               .where(RankingSnapshot.round_id == round_.id)) or 0) + 1
    payloads = [canonical_row(e) for e in ranking]
    stored_truth = truth if round_.prediction_enabled else None
    snapshot = RankingSnapshot(round_id=round_.id, version=version, reason=reason, truth=stored_truth,
                               suggested_truth=suggested, note=note, row_count=len(payloads),
                               digest=digest_of(round_.id, version, stored_truth, payloads),
                               created_by_id=actor.user_id if actor else None,
                               created_by_name=actor.name if actor else "(dòng lệnh)")
    db.add(snapshot)
    await db.flush()
    for start in range(0, len(payloads), 5000):
        await db.execute(SnapshotRow.__table__.insert(),
                         [{"snapshot_id": snapshot.id, "position": i + 1, "payload": p}
                          for i, p in enumerate(payloads[start:start + 5000], start=start)])
    return snapshot


async def close_round(deps: AttemptDeps, redis, actor: StaffAccess, round_id: int, truth: int | None,
                      note: str = "") -> RankingSnapshot:
    """The judge closes the round: T confirmed (None = the computed value), final board published,
    ranking frozen. A round is closed once; corrections go through `regrade`."""
    db = deps.db
    round_ = await get_round(db, round_id)
    actor.require(CLOSE_ROUND, round_.contest_id)
    if truth is not None and truth < 0:
        raise Invalid("invalid_truth", "Số người trả lời đúng tất cả phải là số nguyên không âm.")
    if await latest_snapshot(db, round_id) is not None:
        raise Conflict("round_already_closed", "Đợt thi đã được chốt kết quả. Muốn sửa, hãy dùng “Chấm lại”: "
                                               "hệ thống tạo một bảng kết quả mới, bảng cũ vẫn được giữ.")
    outcome = await finalize_round(deps, redis, round_id, truth)  # raises if the round is still open
    snapshot = await _freeze(db, actor, round_, outcome.prediction_truth, outcome.computed_truth, "close", note)
    audit.record(db, actor, "round.close", contest_id=round_.contest_id, round_id=round_id,
                 target=f"snapshot:{snapshot.id}",
                 after={"truth": snapshot.truth, "computed_truth": outcome.computed_truth,
                        "participants": snapshot.row_count, "digest": snapshot.digest, "version": snapshot.version})
    await db.commit()
    return snapshot


async def regrade(deps: AttemptDeps, redis, actor: StaffAccess, round_id: int, question_id: int,
                  correct_option_id: int, truth: int | None, note: str) -> RankingSnapshot:
    """A question was found wrong: its key becomes `correct_option_id`, every submitted attempt of
    this round that had the question is re-scored, T re-confirmed, and a new snapshot frozen.
    Earlier snapshots stay exactly as they were."""
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
    options = (await db.scalars(select(Option).where(Option.question_id == question_id)
                                .order_by(Option.position))).all()
    if correct_option_id not in {o.id for o in options}:
        raise Invalid("invalid_option", "Phương án đúng mới không thuộc câu hỏi này.")
    before_key = next((o.id for o in options if o.is_correct), None)
    for option in options:
        option.is_correct = option.id == correct_option_id
    await db.flush()
    rescored = await _rescore_round(db, round_id, question_id)
    computed = await compute_truth(db, round_id)
    await db.commit()
    outcome = await finalize_round(deps, redis, round_id, truth if truth is not None else computed)
    snapshot = await _freeze(db, actor, round_, outcome.prediction_truth, computed, "regrade", note.strip())
    audit.record(db, actor, "question.regrade", contest_id=round_.contest_id, round_id=round_id,
                 target=f"question:{question_id}", before={"correct_option_id": before_key},
                 after={"correct_option_id": correct_option_id, "rescored_attempts": rescored, "note": note.strip(),
                        "snapshot_version": snapshot.version, "digest": snapshot.digest, "truth": snapshot.truth})
    await db.commit()
    return snapshot


async def _rescore_round(db: AsyncSession, round_id: int, question_id: int) -> int:
    """Recounts `correct` of the round's submitted attempts that contain the question."""
    attempt_ids = (await db.scalars(
        select(AttemptAnswer.attempt_id).join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
        .where(Attempt.round_id == round_id, Attempt.status == SUBMITTED, AttemptAnswer.question_id == question_id)
    )).all()
    for attempt_id in attempt_ids:
        correct = await db.scalar(select(func.count()).select_from(AttemptAnswer)
                                  .join(Option, Option.id == AttemptAnswer.option_id)
                                  .where(AttemptAnswer.attempt_id == attempt_id, Option.is_correct.is_(True)))
        await db.execute(update(Attempt).where(Attempt.id == attempt_id).values(correct=correct))
    return len(attempt_ids)
