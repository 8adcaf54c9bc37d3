"""Whether a round's results are frozen, and the refusal every change to a frozen round gets.

A round is frozen from its first ranking snapshot on (app.judging.snapshots.close_round). From
then on its times, paper settings, rules and prizes stay as they were when the ranking was frozen:
reopening it or editing it would let results exist that no snapshot shows. Only the documented
re-grading (a new snapshot version, with its audit entry) changes its results."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict
from app.judging.models import RankingSnapshot, SnapshotRow
from app.leaderboard.ranking import RankedEntry


async def frozen_version(db: AsyncSession, round_id: int) -> int | None:
    """The latest snapshot version of the round, None if it is not frozen."""
    return await db.scalar(select(func.max(RankingSnapshot.version)).where(RankingSnapshot.round_id == round_id))


class RoundFrozen(Conflict):
    def __init__(self, round_id: int, version: int, what: str = "sửa thời gian, câu hỏi hay thể lệ của đợt thi"):
        super().__init__(
            "round_frozen",
            f"Đợt thi đã được Ban giám khảo chốt kết quả (lần {version}): không thể mở lại hay {what}. "
            "Nếu đáp án một câu hỏi sai, hãy dùng “Chấm lại”: hệ thống tạo bảng kết quả mới, bảng cũ vẫn được giữ.",
            details={"round_id": round_id, "snapshot_version": version},
        )


async def require_not_frozen(db: AsyncSession, round_id: int, what: str | None = None) -> None:
    version = await frozen_version(db, round_id)
    if version is not None:
        raise RoundFrozen(round_id, version, *([what] if what else []))


async def latest_snapshot(db: AsyncSession, round_id: int) -> RankingSnapshot | None:
    return await db.scalar(
        select(RankingSnapshot)
        .where(RankingSnapshot.round_id == round_id)
        .order_by(RankingSnapshot.version.desc())
        .limit(1)
    )


async def iter_payloads(db: AsyncSession, snapshot_id: int, chunk: int = 5000) -> AsyncIterator[str]:
    """Stored payloads in rank order, a chunk at a time (keyset pagination: constant memory)."""
    last = 0
    while True:
        payloads = (
            await db.scalars(
                select(SnapshotRow.payload)
                .where(SnapshotRow.snapshot_id == snapshot_id, SnapshotRow.position > last)
                .order_by(SnapshotRow.position)
                .limit(chunk)
            )
        ).all()
        if not payloads:
            return
        for payload in payloads:
            yield payload
        last += len(payloads)


async def iter_rows(db: AsyncSession, snapshot_id: int, chunk: int = 5000) -> AsyncIterator[RankedEntry]:
    """Rows in order, a chunk at a time (keyset pagination: constant memory on 100,000 rows)."""
    async for payload in iter_payloads(db, snapshot_id, chunk):
        yield RankedEntry.parse(payload)
