"""Large bank imports as background jobs (issue 17): a file over IMPORT_IN_REQUEST_MAX_BYTES is
read and imported by a job worker, not inside the organizer's request, and any app host shows
its progress and its report.

- `start` (web): the upload is stored in the database (`bank_import_files`) with its record
  (`bank_imports`), then a job is queued (app/jobs). The page refreshes itself and the API
  polls `get`.
- `run` (worker): reads the file, checks and imports it exactly as an upload in the request does
  (app.questions.bank.import_bank: all or nothing, the same report row by row), and in the SAME
  transaction as the questions marks the record done, stores the report and deletes the file.
  So a worker killed at any moment leaves either nothing written (the job is retried from the
  start) or everything written and the record done (a re-run returns at once): an import
  re-run never imports twice. Two attempts running at once (a worker that was only slow) take
  turns on the record's row lock, and the later one finds it done.
- A worker that dies stops reporting; the queue hands the job to another one (SAQ's heartbeat),
  up to JOB_RETRIES attempts. One that fails for good says so on the page and in the API.
- `expire` deletes records past IMPORT_TTL_SECONDS (the periodic expiry job)."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select, update

from app.core import tracked_jobs
from app.core.clock import utcnow
from app.core.errors import NotFound
from app.core.runtime import Runtime
from app.questions import bank
from app.questions.models import BankImport, BankImportFile
from app.staff.roles import StaffAccess

log = logging.getLogger("app.questions")
QUEUED, RUNNING, DONE, FAILED = tracked_jobs.QUEUED, tracked_jobs.RUNNING, tracked_jobs.DONE, tracked_jobs.FAILED
# Not finished this long after the upload: it will not finish (no worker running): say so.
STALE_SECONDS = tracked_jobs.STALE_SECONDS
LOST_MESSAGE = "Việc nhập tệp bị gián đoạn nhiều lần (máy xử lý ngừng đột ngột). Chưa có câu hỏi nào được ghi; hãy tải tệp lên lại."
STALE_MESSAGE = (
    "Việc nhập tệp không hoàn thành (máy xử lý không hoạt động). Chưa có câu hỏi nào được ghi; hãy tải tệp lên lại."
)
GENERIC_MESSAGE = "Đã có lỗi khi nhập tệp. Chưa có câu hỏi nào được ghi; hãy tải tệp lên lại."
QUEUE_MESSAGE = "Không đưa được việc nhập tệp vào hàng đợi. Chưa có câu hỏi nào được ghi; hãy thử lại sau ít phút."
GONE_MESSAGE = "Không còn tệp để nhập (đã bị xóa). Hãy tải tệp lên lại."


def queued(settings, size: int) -> bool:
    """Whether an upload of `size` bytes is imported by a worker rather than in the request."""
    return size > settings.import_in_request_max_bytes


@dataclass(frozen=True)
class ImportJob:
    id: str
    contest_id: int
    user_id: int | None
    filename: str
    size: int
    dry_run: bool
    status: str  # queued | running | done | failed
    stage: str  # parse | write
    done: int
    total: int
    attempts: int
    ok: bool | None  # once done: True imported (or would be, dry run), False refused with its problems
    report: bank.ImportReport | None
    error: str
    started: float
    finished: float

    @property
    def pending(self) -> bool:
        return self.status in (QUEUED, RUNNING)

    @property
    def percent(self) -> int:
        """Reading the file counts for the first half, writing the questions for the second."""
        if self.status == DONE:
            return 100
        if self.status != RUNNING:
            return 0
        if self.stage == "write":
            return min(99, 50 + (self.done * 50 // self.total if self.total else 0))
        return 10

    @property
    def seconds(self) -> float:
        return round(max(0.0, (self.finished or time.time()) - self.started), 1)

    @property
    def summary(self) -> str:
        return bank.summary_line(self.report) if self.report else self.error

    def to_json(self, status_url: str) -> dict:
        return {
            "id": self.id,
            "status": self.status,
            "stage": self.stage,
            "percent": self.percent,
            "done": self.done,
            "total": self.total,
            "attempts": self.attempts,
            "filename": self.filename,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "error": self.error,
            "seconds": self.seconds,
            "report": self.report.to_json() if self.report else None,
            "status_url": status_url,
        }


def _job(rec: BankImport, status: str | None = None, error: str | None = None) -> ImportJob:
    return ImportJob(
        id=rec.id,
        contest_id=rec.contest_id,
        user_id=rec.user_id,
        filename=rec.filename,
        size=rec.size,
        dry_run=rec.dry_run,
        status=status or rec.status,
        stage=rec.stage,
        done=rec.done,
        total=rec.total,
        attempts=rec.attempts,
        ok=rec.ok if (status or rec.status) == DONE else None,
        report=bank.ImportReport.from_json(rec.report) if rec.report and (status or rec.status) == DONE else None,
        error=rec.error if error is None else error,
        started=rec.created_at.timestamp(),
        finished=rec.finished_at.timestamp() if rec.finished_at else 0.0,
    )


def _key(import_id: str) -> str:
    return f"bank-import:{import_id}"


async def start(
    runtime: Runtime, db, contest_id: int, data: bytes, filename: str, actor: StaffAccess, *, dry_run: bool = False
) -> str:
    """Stores the upload and its record (in the request's session `db`, committed) and queues
    the import; returns its id at once."""
    import_id = secrets.token_urlsafe(12)
    now = utcnow()
    # The request's own session: on SQLite a second one would wait for this one's write lock.
    db.add(
        BankImport(
            id=import_id,
            contest_id=contest_id,
            user_id=actor.user_id,
            actor_name=actor.name[:200],
            filename=filename[:300],
            size=len(data),
            dry_run=dry_run,
            status=QUEUED,
            attempts=0,
            stage="",
            done=0,
            total=0,
            added=0,
            error="",
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=runtime.settings.import_ttl_seconds),
        )
    )
    await db.flush()  # the record before its file (foreign key)
    db.add(BankImportFile(import_id=import_id, data=data))
    await db.commit()
    try:
        await runtime.jobs.enqueue(
            "bank_import_task", key=_key(import_id), import_id=import_id, timeout=STALE_SECONDS - 60
        )
    except Exception:  # the queue's database unreachable: the page says so, nothing left spinning
        log.exception("bank import %s could not be queued", import_id)
        await _set(runtime.sessionmaker, import_id, status=FAILED, error=QUEUE_MESSAGE, finished_at=utcnow())
    return import_id


async def _set(sessionmaker, import_id: str, **values) -> None:
    await tracked_jobs.set_fields(sessionmaker, BankImport, import_id, **values)


async def get(runtime: Runtime, import_id: str, db=None) -> ImportJob | None:
    """The import as the page and the API show it; None when unknown or expired. In a request,
    pass its session `db` (on SQLite a second session would wait for the first one's lock)."""
    rec = await tracked_jobs.load_record(runtime, BankImport, import_id, db)
    if rec is None:
        return None
    status, error = await tracked_jobs.overdue_verdict(
        runtime, rec, _key(import_id), stale_message=STALE_MESSAGE, lost_message=LOST_MESSAGE
    )
    return _job(rec, status, error)


async def of_contest(runtime: Runtime, db, contest_id: int, import_id: str) -> ImportJob:
    """The import for a contest's page or API (its organizers see it, whoever uploaded it)."""
    job = await get(runtime, import_id, db)
    if job is None or job.contest_id != contest_id:
        raise NotFound("import_not_found", "Không tìm thấy lượt nhập tệp này (kết quả chỉ được giữ trong 7 ngày).")
    return job


async def wait(runtime: Runtime, import_id: str, timeout: float = 60) -> ImportJob | None:
    """For callers that want to block (tests, scripts)."""
    return await tracked_jobs.wait_settled(lambda: get(runtime, import_id), timeout)


async def expire(sessionmaker) -> int:
    """Deletes import records (and any file left) past their expiry. Returns how many."""
    async with sessionmaker() as db:
        ids = (await db.scalars(select(BankImport.id).where(BankImport.expires_at <= utcnow()).limit(1000))).all()
        if ids:
            await db.execute(delete(BankImportFile).where(BankImportFile.import_id.in_(ids)))
            await db.execute(delete(BankImport).where(BankImport.id.in_(ids)))
            await db.commit()
    return len(ids)


async def run(
    sessionmaker, settings, import_id: str, heartbeat: Callable[[], Awaitable[None]], last_attempt: bool
) -> str:
    """Imports `import_id` (the worker's side); see the module's docstring for why a re-run never
    imports twice. A file with problems is a result (done, `ok` false, its report), not a
    failure; anything unexpected is raised so that the queue retries it, and on the last attempt
    the page says it failed."""
    async with sessionmaker() as db:
        rec = await db.get(BankImport, import_id)
        data = await db.scalar(select(BankImportFile.data).where(BankImportFile.import_id == import_id))
    if rec is None or rec.status in (DONE, FAILED):
        return rec.status if rec else "gone"  # expired, or finished by an attempt the queue thought lost
    if data is None:
        await _set(sessionmaker, import_id, status=FAILED, error=GONE_MESSAGE, finished_at=utcnow())
        return FAILED
    now = utcnow()
    await _set(
        sessionmaker,
        import_id,
        status=RUNNING,
        attempts=rec.attempts + 1,
        stage="parse",
        done=0,
        total=0,
        error="",
        started_at=now,
        updated_at=now,
    )
    latest: list[tuple[str, int, int]] = []

    def progress(stage: str, done: int, total: int) -> None:
        latest[:] = [(stage, done, total)]

    async def flush() -> None:
        values: dict = {"updated_at": utcnow()}
        if latest:
            values["stage"], values["done"], values["total"] = latest[0]
        async with sessionmaker() as own:
            # Only while running: a late write never touches a finished record.
            await own.execute(
                update(BankImport).where(BankImport.id == import_id, BankImport.status == RUNNING).values(**values)
            )
            await own.commit()

    async def reporter() -> None:
        """The queue's heartbeat on its own schedule; the progress row beside it, in a task of its
        own: on SQLite it waits for the import's write lock, and the heartbeat must not."""
        interval = max(0.3, min(2.0, settings.job_heartbeat_seconds / 4))
        writing: asyncio.Task | None = None
        try:
            while True:
                await asyncio.sleep(interval)
                try:
                    await heartbeat()  # tells the queue this worker is alive
                except Exception:  # a blip: the next tick reports; the queue's heartbeat is generous
                    log.exception("bank import %s: heartbeat not sent", import_id)
                if writing is None or writing.done():
                    writing = asyncio.create_task(flush())
        finally:
            if writing is not None:
                # Not cancelled half-way through a statement: let it finish (a no-op once done).
                await asyncio.gather(writing, return_exceptions=True)

    actor = StaffAccess(user_id=rec.user_id, name=rec.actor_name, is_admin=False) if rec.user_id else None
    ticker = asyncio.create_task(reporter())
    try:
        async with sessionmaker() as db:
            report = await bank.import_bank(
                db,
                rec.contest_id,
                data,
                rec.filename,
                actor=actor,
                limits=bank.limits_from_settings(settings),
                dry_run=rec.dry_run,
                progress=progress,
                commit=False,
            )
            # The record's row lock: a second attempt of this import (one the queue thought lost)
            # waits here, then finds it done and writes nothing (its questions roll back).
            status = await db.scalar(select(BankImport.status).where(BankImport.id == import_id).with_for_update())
            if status != RUNNING:
                await db.rollback()
                return status or "gone"
            finished = utcnow()
            await db.execute(
                update(BankImport)
                .where(BankImport.id == import_id)
                .values(
                    status=DONE,
                    ok=report.ok,
                    added=report.added,
                    report=report.to_json(),
                    stage="write",
                    finished_at=finished,
                    updated_at=finished,
                )
            )
            await db.execute(delete(BankImportFile).where(BankImportFile.import_id == import_id))
            await db.commit()
        log.info("bank import %s done: ok=%s, %d added", import_id, report.ok, report.added)
        return DONE
    except Exception:
        log.exception("bank import %s failed (last attempt: %s)", import_id, last_attempt)
        if last_attempt:
            await _set(sessionmaker, import_id, status=FAILED, error=GENERIC_MESSAGE, finished_at=utcnow())
        raise
    finally:
        ticker.cancel()
        await asyncio.gather(ticker, return_exceptions=True)
