"""Exports as background jobs (issue 17): a 100,000-row file neither holds a request open nor
runs on a web worker's event loop, and any app host can report its progress and serve it.

- `start` (web): a row in `export_jobs` (the record every host reads), then a job on the queue
  (app/jobs). The page and the API poll `get`.
- `run` (worker process, or the in-process worker on the embedded defaults): writes the .xlsx
  to a temporary file, then stores it in the database in chunks, in the same transaction that
  marks the job done: a job is either done with its whole file or not done.
- A worker that dies mid-export (kill -9, host lost) stops reporting progress; the queue hands
  the job to another worker (SAQ's heartbeat + sweep), up to JOB_RETRIES attempts. One that
  fails for good says so on the page and in the API.
- `stream` sends the file from the database to the judge chunk by chunk; `expire` deletes
  records and files past EXPORT_TTL_SECONDS (a periodic job)."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, event, select, update
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import tracked_jobs
from app.core.clock import to_local, utcnow
from app.core.db import create_engine, make_sessionmaker
from app.core.runtime import Runtime
from app.exports.models import ExportChunk, ExportJobRecord
from app.exports.reports import export_kind

log = logging.getLogger("app.exports")
CHUNK_BYTES = 512 * 1024
STALE_SECONDS = tracked_jobs.STALE_SECONDS
QUEUED, RUNNING, DONE, FAILED = tracked_jobs.QUEUED, tracked_jobs.RUNNING, tracked_jobs.DONE, tracked_jobs.FAILED
LOST_MESSAGE = "Việc xuất tệp bị gián đoạn nhiều lần (máy xử lý ngừng đột ngột). Hãy xuất lại."
STALE_MESSAGE = "Việc xuất tệp không hoàn thành (máy xử lý không hoạt động). Hãy xuất lại."
GENERIC_MESSAGE = "Đã có lỗi khi xuất tệp. Vui lòng thử lại."
QUEUE_MESSAGE = "Không đưa được việc xuất tệp vào hàng đợi. Vui lòng thử lại sau ít phút."


@dataclass(frozen=True)
class ExportJob:
    id: str
    kind: str
    round_id: int
    user_id: int
    status: str  # queued | running | done | failed
    done: int
    total: int
    filename: str
    error: str
    started: float
    finished: float
    display: str = ""  # the Vietnamese file name, for Content-Disposition's filename*
    size: int = 0
    attempts: int = 0

    @property
    def percent(self) -> int:
        if self.status == DONE:
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0

    @property
    def seconds(self) -> float:
        return round(max(0.0, (self.finished or time.time()) - self.started), 1)

    @property
    def pending(self) -> bool:
        return self.status in (QUEUED, RUNNING)


def file_name(kind: str, round_name: str) -> str:
    """ASCII-safe, named after the round: "bang-xep-hang-tuan-1-thang-12-20261129-1530.xlsx"; the
    download also offers the Vietnamese title (see `display_name`, RFC 5987 filename*)."""
    from app.contests.editing import slugify

    return f"{export_kind(kind).filename}-{slugify(round_name)[:60]}-{to_local(utcnow()):%Y%m%d-%H%M}.xlsx"


def display_name(kind: str, round_name: str, filename: str) -> str:
    """The file name in Vietnamese: "Bảng xếp hạng chung cuộc - Tuần 1 - 20261129-1530.xlsx"."""
    stamp = "-".join(filename.rsplit("-", 2)[-2:])
    safe = "".join("-" if ch in '\\/:*?"<>|' else ch for ch in round_name if ch.isprintable()).strip()[:80]
    return f"{export_kind(kind).label} - {safe} - {stamp}"


async def start(runtime: Runtime, db, kind: str, round_id: int, user_id: int, round_name: str = "") -> str:
    """Records the export (in the request's session `db`, committed) and queues it; returns its
    id at once (the worker does the work)."""
    round_name = round_name or f"dot-{round_id}"
    export_kind(kind)
    job_id = secrets.token_urlsafe(12)
    filename = file_name(kind, round_name)
    now = utcnow()
    # The request's own session: on SQLite a second one would wait for this one's write lock.
    db.add(
        ExportJobRecord(
            id=job_id,
            kind=kind,
            round_id=round_id,
            user_id=user_id,
            status=QUEUED,
            attempts=0,
            done=0,
            total=0,
            filename=filename,
            display=display_name(kind, round_name, filename),
            error="",
            size=0,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=runtime.settings.export_ttl_seconds),
        )
    )
    await db.commit()
    try:
        await runtime.jobs.enqueue(
            "export_task", key=f"export:{job_id}", export_id=job_id, timeout=max(600, STALE_SECONDS - 60)
        )
    except Exception:  # the queue's database unreachable: the page says so, nothing left spinning
        log.exception("export %s could not be queued", job_id)
        await _set(runtime.sessionmaker, job_id, status=FAILED, error=QUEUE_MESSAGE, finished_at=utcnow())
    return job_id


async def _set(sessionmaker, job_id: str, **values) -> None:
    await tracked_jobs.set_fields(sessionmaker, ExportJobRecord, job_id, **values)


def _job(rec: ExportJobRecord, status: str | None = None, error: str | None = None) -> ExportJob:
    return ExportJob(
        id=rec.id,
        kind=rec.kind,
        round_id=rec.round_id,
        user_id=rec.user_id,
        status=status or rec.status,
        done=rec.done,
        total=rec.total,
        filename=rec.filename,
        error=rec.error if error is None else error,
        started=rec.created_at.timestamp(),
        finished=rec.finished_at.timestamp() if rec.finished_at else 0.0,
        display=rec.display,
        size=rec.size,
        attempts=rec.attempts,
    )


async def get(runtime: Runtime, job_id: str, db=None) -> ExportJob | None:
    """The job as the page and the API show it; None when unknown or expired. In a request, pass
    its session `db` (on SQLite a second session would wait for the first one's lock)."""
    rec = await tracked_jobs.load_record(runtime, ExportJobRecord, job_id, db)
    if rec is None:
        return None
    status, error = await tracked_jobs.overdue_verdict(
        runtime, rec, f"export:{job_id}", stale_message=STALE_MESSAGE, lost_message=LOST_MESSAGE
    )
    return _job(rec, status, error)


async def wait(runtime: Runtime, job_id: str, timeout: float = 60) -> ExportJob | None:
    """For callers that want to block (tests, scripts)."""
    return await tracked_jobs.wait_settled(lambda: get(runtime, job_id), timeout)


async def stream(sessionmaker, job_id: str) -> AsyncIterator[bytes]:
    """The stored file, one chunk per query: memory stays at one chunk whatever the file size,
    and no connection is held while the judge's network is slow."""
    seq = 0
    while True:
        async with sessionmaker() as db:
            data = await db.scalar(select(ExportChunk.data).where(ExportChunk.job_id == job_id, ExportChunk.seq == seq))
        if data is None:
            return
        yield bytes(data)
        seq += 1


async def expire(sessionmaker) -> int:
    """Deletes exports (record and file) past their expiry. Returns how many."""
    async with sessionmaker() as db:
        ids = (
            await db.scalars(select(ExportJobRecord.id).where(ExportJobRecord.expires_at <= utcnow()).limit(1000))
        ).all()
        if ids:
            await db.execute(delete(ExportChunk).where(ExportChunk.job_id.in_(ids)))
            await db.execute(delete(ExportJobRecord).where(ExportJobRecord.id.in_(ids)))
            await db.commit()
    return len(ids)


async def run(sessionmaker, settings, job_id: str, heartbeat: Callable[[], Awaitable[None]], last_attempt: bool) -> str:
    """Writes export `job_id` (the worker's side). A failure the judge can act on (no frozen
    ranking yet…) fails the job at once with its message; anything else is raised so that the
    queue retries it, and on the last attempt the page says it failed."""
    async with sessionmaker() as db:
        rec = await db.get(ExportJobRecord, job_id)
    if rec is None or rec.status in (DONE, FAILED):
        return rec.status if rec else "gone"  # expired, or finished by an attempt the queue thought lost
    await _set(
        sessionmaker,
        job_id,
        status=RUNNING,
        attempts=rec.attempts + 1,
        done=0,
        total=0,
        error="",
        started_at=utcnow(),
        updated_at=utcnow(),
    )
    pending: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        pending.append((done, total))

    async def flush() -> None:
        values: dict[str, Any] = {"updated_at": utcnow()}
        if pending:
            values["done"], values["total"] = pending[-1]
            pending.clear()
        await _set(sessionmaker, job_id, **values)
        await heartbeat()  # tells the queue this worker is alive

    async def reporter() -> None:
        interval = max(0.3, min(2.0, settings.job_heartbeat_seconds / 4))
        while True:
            await asyncio.sleep(interval)
            try:
                await flush()
            except Exception:  # a blip: the next tick reports; the queue's heartbeat is generous
                log.exception("export %s: progress not reported", job_id)

    tmp_dir = Path(settings.var_dir) / "exports-tmp"
    tmp_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f"{job_id}-", suffix=".xlsx", dir=tmp_dir)
    os.close(fd)
    path = Path(name)
    ticker = asyncio.create_task(reporter())
    try:
        rows = await asyncio.to_thread(_write_in_thread, settings, rec.kind, rec.round_id, path, progress)
        ticker.cancel()
        await _store(sessionmaker, job_id, path, rows if isinstance(rows, int) else None)
        log.info("export %s done: %s rows", job_id, rows)
        return DONE
    except Exception as exc:
        ticker.cancel()
        message = getattr(exc, "message", None)
        if message:  # the judge's to fix (no frozen ranking…): retrying would say the same
            await _set(sessionmaker, job_id, status=FAILED, error=message[:500], finished_at=utcnow())
            return FAILED
        log.exception("export %s failed (last attempt: %s)", job_id, last_attempt)
        if last_attempt:
            await _set(sessionmaker, job_id, status=FAILED, error=GENERIC_MESSAGE, finished_at=utcnow())
        raise
    finally:
        ticker.cancel()
        path.unlink(missing_ok=True)


def _write_in_thread(settings, kind: str, round_id: int, path: Path, progress) -> int:
    """The export's CPU on a thread with its own event loop and database connection, so that the
    worker's loop keeps reporting progress and heartbeats meanwhile: a loop stalled past its
    heartbeat by a long export would have its job swept and run a second time."""

    async def write() -> int:
        engine = _read_engine(settings)
        try:
            async with make_sessionmaker(engine)() as db:
                return await export_kind(kind).writer(db, round_id, path, progress)
        finally:
            await engine.dispose()

    return asyncio.run(write())


def _read_engine(settings):
    """PostgreSQL: the app's engine settings. SQLite: a plain deferred transaction (the app's
    sessions take the write lock up front, BEGIN IMMEDIATE), which in WAL mode lets answer saves
    and this job's progress writes go on while the export reads."""
    if not settings.is_sqlite:
        return create_engine(settings)
    engine = create_async_engine(settings.effective_database_url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA query_only=1")  # reads only
        cursor.close()

    return engine


async def _store(sessionmaker, job_id: str, path: Path, rows: int | None) -> None:
    """File and "done" in one transaction: a worker dying here leaves the job running (retried),
    never done with half a file."""
    size = path.stat().st_size
    async with sessionmaker() as db:
        await db.execute(delete(ExportChunk).where(ExportChunk.job_id == job_id))  # a lost attempt's leftovers
        with path.open("rb") as f:
            seq = 0
            while chunk := f.read(CHUNK_BYTES):
                db.add(ExportChunk(job_id=job_id, seq=seq, data=chunk))
                seq += 1
                if seq % 8 == 0:
                    await db.flush()
        await db.execute(
            update(ExportJobRecord)
            .where(ExportJobRecord.id == job_id)
            .values(
                status=DONE,
                size=size,
                finished_at=utcnow(),
                updated_at=utcnow(),
                **({"done": rows, "total": rows} if rows is not None else {}),
            )
        )
        await db.commit()
