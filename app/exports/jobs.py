"""Exports as background jobs, so that a 100,000-row file does not hold a request open and the
page can show progress. State lives in Redis (any worker can report it); the file is written
under VAR_DIR/exports (shared by the workers of one host) and kept for a day."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from app.core.clock import to_local, utcnow
from app.core.runtime import Runtime
from app.exports.reports import export_kind

log = logging.getLogger("app.exports")
JOB_TTL_SECONDS = 24 * 3600
# A job still "running" after this long lost its worker (restart, crash): say so instead of
# letting the progress page refresh forever. The biggest export takes seconds, not minutes.
STALE_SECONDS = 15 * 60


def _key(job_id: str) -> str:
    return f"export:{job_id}"


@dataclass(frozen=True)
class ExportJob:
    id: str
    kind: str
    round_id: int
    user_id: int
    status: str  # running | done | failed
    done: int
    total: int
    filename: str
    path: str
    error: str
    started: float
    finished: float
    display: str = ""  # the Vietnamese file name, for Content-Disposition's filename*

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        return min(99, int(self.done * 100 / self.total)) if self.total else 0

    @property
    def seconds(self) -> float:
        return round((self.finished or time.time()) - self.started, 1)


def export_dir(settings) -> Path:
    path = Path(settings.var_dir) / "exports"
    path.mkdir(parents=True, exist_ok=True)
    return path


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


async def start(runtime: Runtime, kind: str, round_id: int, user_id: int, round_name: str = "") -> str:
    round_name = round_name or f"dot-{round_id}"
    export_kind(kind)
    job_id = secrets.token_urlsafe(12)
    path = export_dir(runtime.settings) / f"{job_id}.xlsx"
    redis = runtime.redis
    filename = file_name(kind, round_name)
    await redis.hset(
        _key(job_id),
        mapping={
            "kind": kind,
            "round": round_id,
            "user": user_id,
            "status": "running",
            "done": 0,
            "total": 0,
            "filename": filename,
            "display": display_name(kind, round_name, filename),
            "path": str(path),
            "error": "",
            "started": time.time(),
            "finished": 0,
        },
    )
    await redis.expire(_key(job_id), JOB_TTL_SECONDS)
    runtime.spawn(_run(runtime, job_id, kind, round_id, path))  # the runtime keeps it referenced
    return job_id


async def _run(runtime: Runtime, job_id: str, kind: str, round_id: int, path: Path) -> None:
    redis = runtime.redis
    pending: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> None:
        pending.append((done, total))

    async def flush():
        if pending:
            done, total = pending[-1]
            pending.clear()
            await redis.hset(_key(job_id), mapping={"done": done, "total": total})

    async def reporter():
        while True:
            await asyncio.sleep(0.3)
            await flush()

    ticker = asyncio.create_task(reporter())
    try:
        async with runtime.sessionmaker() as db:
            await export_kind(kind).writer(db, round_id, path, progress)
        ticker.cancel()
        await flush()
        await redis.hset(_key(job_id), mapping={"status": "done", "finished": time.time()})
    except Exception as exc:  # the page must say it failed, not spin forever
        ticker.cancel()
        message = getattr(exc, "message", None) or "Đã có lỗi khi xuất tệp. Vui lòng thử lại."
        if not hasattr(exc, "message"):
            log.exception("export %s failed", job_id)
        await redis.hset(_key(job_id), mapping={"status": "failed", "error": message, "finished": time.time()})


async def get(redis, job_id: str) -> ExportJob | None:
    data = await redis.hgetall(_key(job_id))
    if not data:
        return None
    d = {
        (k.decode() if isinstance(k, bytes) else k): (v.decode() if isinstance(v, bytes) else v)
        for k, v in data.items()
    }
    if d["status"] == "running" and time.time() - float(d["started"]) > STALE_SECONDS:
        d["status"], d["error"] = "failed", "Việc xuất tệp bị gián đoạn (máy chủ khởi động lại). Hãy xuất lại."
    return ExportJob(
        id=job_id,
        kind=d["kind"],
        round_id=int(d["round"]),
        user_id=int(d["user"]),
        status=d["status"],
        done=int(d["done"]),
        total=int(d["total"]),
        filename=d["filename"],
        path=d["path"],
        error=d["error"],
        started=float(d["started"]),
        finished=float(d["finished"]),
        display=d.get("display", ""),
    )


async def wait(redis, job_id: str, timeout: float = 60) -> ExportJob:
    """For the CLI-free callers (tests, API clients that want to block)."""
    deadline = time.monotonic() + timeout
    while True:
        job = await get(redis, job_id)
        if job is None or job.status != "running" or time.monotonic() > deadline:
            return job
        await asyncio.sleep(0.1)
