"""Processes for the job tests: `python -m app worker`, HAProxy in front of app hosts, and a
big frozen ranking to export (so that an export runs long enough to be killed mid-way)."""
from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from app.jobs.queue import JobQueue
from tests.live import free_port
from tests.processes import LoggedProcess


class WorkerProcess(LoggedProcess):
    """`python -m app worker` with the test's database and Redis (env overrides on top)."""

    prefix = "ttn-worker-"
    stop_grace_seconds = 40

    def start(self) -> None:
        self.spawn([sys.executable, "-m", "app", "worker"])

    def wait_started(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while "Worker starting" not in self.output():
            if self.process.poll() is not None:
                raise RuntimeError("worker exited:\n" + self.output())
            if time.monotonic() > deadline:
                raise RuntimeError("worker did not start:\n" + self.output())
            time.sleep(0.1)


@dataclass
class WorkerPair:
    queue: JobQueue
    workers: list[WorkerProcess]
    runtime: Any  # what the jobs' start/get/wait read: the test app's database, the pair's queue

    def owner_of(self, saq_worker_id: str) -> WorkerProcess:
        return next(w for w in self.workers if saq_worker_id.endswith(f":{w.pid}"))

    def log_lines(self, *words: str) -> list[str]:
        return [line for w in self.workers for line in w.output().splitlines() if any(x in line for x in words)][-30:]


@contextlib.asynccontextmanager
async def worker_pair(app, prefix: str, **env: str) -> AsyncIterator[WorkerPair]:
    """Two `python -m app worker` processes on a queue of their own (the test app's in-process
    worker must not take the job), with heartbeats loose enough for a loaded 2-core machine and
    a quick hand-over of a dead worker's job; started, yielded, stopped."""
    env = {"JOBS_QUEUE": f"{prefix}-{secrets.token_hex(4)}", "JOB_HEARTBEAT_SECONDS": "10", "JOBS_SWEEP_SECONDS": "1",
           "WORKER_NICE": "0", "JOB_RETRIES": "5", "SECRET_KEY": app.state.runtime.settings.effective_secret_key,
           **env}
    settings = app.state.runtime.settings.model_copy(update={"jobs_queue": env["JOBS_QUEUE"]})
    queue = JobQueue(settings)
    await queue.connect()
    workers = [WorkerProcess(env), WorkerProcess(env)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.wait_started()
        yield WorkerPair(queue, workers, SimpleNamespace(sessionmaker=app.state.runtime.sessionmaker,
                                                         settings=settings, jobs=queue))
    finally:
        for w in workers:
            w.stop()
        await queue.close()


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next((p for p in ("/usr/sbin/haproxy",) if os.path.exists(p)), None)


HAPROXY_CONFIG = """\
# The balancer of the fleet test (README, "Scaling out"): round robin over the app hosts, a
# host taken out after two failed /readyz checks, a request whose connection failed sent to
# the other host. The response names the host that answered (X-Served-By).
global
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    retries 3
    option redispatch
    retry-on conn-failure empty-response response-timeout

frontend thitracnghiem
    bind 127.0.0.1:{port}
    default_backend app

backend app
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    http-response set-header X-Served-By %[srv_name]
{servers}
"""


class HAProxy:
    def __init__(self, backends: list[tuple[str, int]] | None = None, config: Callable[[int], str] | None = None):
        """`backends`: the fleet test's one pool; or `config`: the whole configuration for the port
        HAProxy will listen on (the two lanes of app/core/lanes.py)."""
        self.port = free_port()
        if config is not None:
            self.config = config(self.port)
        else:
            servers = "\n".join(f"    server {name} 127.0.0.1:{port} check inter 500ms fall 2 rise 2"
                                for name, port in backends or [])
            self.config = HAPROXY_CONFIG.format(port=self.port, servers=servers)
        self.dir = Path(tempfile.mkdtemp(prefix="ttn-haproxy-"))
        (self.dir / "haproxy.cfg").write_text(self.config)
        self.process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 15) -> None:
        self.process = subprocess.Popen([haproxy_binary(), "-db", "-f", str(self.dir / "haproxy.cfg")],
                                        stdout=open(self.dir / "log", "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("haproxy exited:\n" + (self.dir / "log").read_text())
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("haproxy did not start:\n" + (self.dir / "log").read_text())
            time.sleep(0.1)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


async def big_frozen_ranking(app, round_id: int, n: int) -> None:
    """A frozen ranking of `n` rows for `round_id`, written straight into the tables (as the
    export benchmark does): creating n real participants would take the test's whole budget."""
    from app.core.clock import utcnow
    from app.judging.models import RankingSnapshot, SnapshotRow
    from app.judging.snapshots import canonical_row, snapshot_digest
    from app.leaderboard.ranking import RankedEntry

    start = utcnow() - timedelta(days=1)
    payloads = [canonical_row(RankedEntry(
        position=i, user_id=i, full_name=f"Nguyễn Thị Phương Thảo {i}", unit=f"Sở Giáo dục và Đào tạo {i % 500}",
        province="Thừa Thiên Huế", district="Thành phố Huế", commune="Phường Phú Hội", attempt_id=i,
        correct=20 - i * 21 // (n + 1), total=20, prediction=i % 1000, distance=i % 977, time_ms=300_000 + i,
        submitted_at=start + timedelta(seconds=i))) for i in range(1, n + 1)]
    async with app.state.runtime.sessionmaker() as db:
        snapshot = RankingSnapshot(round_id=round_id, version=1, reason="close", truth=5, suggested_truth=5, note="",
                                   row_count=n, canonical_format=2, created_by_name="test",
                                   digest=snapshot_digest(2, round_id, 1, 5, payloads))
        db.add(snapshot)
        await db.flush()
        for s in range(0, n, 5_000):
            await db.execute(SnapshotRow.__table__.insert(), [
                {"snapshot_id": snapshot.id, "position": i + 1, "payload": p}
                for i, p in enumerate(payloads[s:s + 5_000], start=s)])
        await db.commit()
