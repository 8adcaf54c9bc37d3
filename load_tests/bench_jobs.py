"""Benchmark (not a test): answer-save latency on the web workers while a 100,000-row ranking
export runs (issue 17). `make bench-jobs`, or `python -m load_tests.bench_jobs`.

One uvicorn web process and one `python -m app worker` on PostgreSQL + Redis (loopback).
BENCH_CLIENTS participants save answers in a loop (each waits BENCH_PAUSE_MS between saves: a
steady load, not saturation), in three phases, all in one run so the figures compare:

1. baseline: no export, BENCH_SECONDS of saves;
2. worker: a judge starts the 100,000-row ranking export; saves go on until it is done (the
   export's CPU is in the worker process: the production setup);
3. in-process (for contrast, the old way): the web process runs the job itself
   (JOBS_IN_PROCESS=1, no worker): the export's CPU is on the web worker's event loop.

Phases 2 and 3 run BENCH_EXPORTS (3) exports one after another, so that their p99 rests on a
few thousand saves. Each phase opens new connections, whose first request is not counted; a
3 s warm-up precedes the measured phases of each server. The report lists each phase's slowest
saves with their time into the phase (and the export's progress), to tell where the tail is.

Reported: p50/p99 of the saves per phase and p99 ratios to the baseline (target for phase 2:
within 1.5x). Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/
ttn_jobs_bench, created if missing), BENCH_REDIS_URL (redis://127.0.0.1:6379/14), BENCH_ROWS
(100000), BENCH_CLIENTS (8), BENCH_PAUSE_MS (20), BENCH_SECONDS (20), BENCH_EXPORTS (3).
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import httpx

from load_tests.bench_leaderboard import ROOT, Server, ensure_database, percentiles, seed_submitters


class SlowStartServer(Server):
    def wait(self, timeout: float = 300) -> None:  # a loaded shared machine starts uvicorn slowly
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.5)
        raise SystemExit("the app did not start")


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


async def seed_export(database_url: str, redis_url: str, rows: int) -> tuple[int, str]:
    """A closed round with a frozen ranking of `rows` rows, and a judge's session on its contest."""
    from redis.asyncio import Redis

    from app import models  # noqa: F401
    from app.accounts.models import User
    from app.config import Settings
    from app.contests.models import Contest, Round
    from app.core.clock import utcnow
    from app.core.db import create_engine, make_sessionmaker
    from app.core.sessions import create_session
    from app.judging.models import RankingSnapshot, SnapshotRow
    from app.judging.snapshots import canonical_row, snapshot_digest
    from app.leaderboard.ranking import RankedEntry
    from app.staff.accounts import STAFF
    from app.staff.models import StaffAssignment

    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url)
    engine = create_engine(settings)
    redis = Redis.from_url(redis_url, decode_responses=True)
    run = f"{int(time.time())}-{os.getpid()}"
    start = utcnow() - timedelta(days=2)
    try:
        async with make_sessionmaker(engine)() as db:
            contest = Contest(slug=f"bench-jobs-{run}", title="Cuộc thi đo tải xuất tệp", rules_text="")
            db.add(contest)
            await db.flush()
            round_ = Round(contest_id=contest.id, name="Tuần đo tải", open_at=start, close_at=start + timedelta(days=1),
                           quotas=[])
            db.add(round_)
            judge = User(full_name="Giám khảo đo tải", phone=f"09{int(time.time() * 1000) % 10**8:08d}",
                         password_hash="x", role=STAFF)
            db.add(judge)
            await db.flush()
            db.add(StaffAssignment(user_id=judge.id, contest_id=contest.id, role="judge"))
            payloads = [canonical_row(RankedEntry(
                position=i, user_id=i, full_name=f"Nguyễn Thị Phương Thảo {i}", unit=f"Sở Giáo dục và Đào tạo {i % 500}",
                province="Thừa Thiên Huế", district="Thành phố Huế", commune="Phường Phú Hội", attempt_id=i,
                correct=20 - i * 21 // (rows + 1), total=20, prediction=i % 1000, distance=i % 977,
                time_ms=300_000 + i, submitted_at=start + timedelta(seconds=i))) for i in range(1, rows + 1)]
            snapshot = RankingSnapshot(round_id=round_.id, version=1, reason="close", truth=5, suggested_truth=5,
                                       note="", row_count=rows, canonical_format=2, created_by_name="bench",
                                       digest=snapshot_digest(2, round_.id, 1, 5, payloads))
            db.add(snapshot)
            await db.flush()
            for s in range(0, rows, 10_000):
                await db.execute(SnapshotRow.__table__.insert(), [
                    {"snapshot_id": snapshot.id, "position": i + 1, "payload": p}
                    for i, p in enumerate(payloads[s:s + 10_000], start=s)])
            await db.commit()
            round_id, judge_id = round_.id, judge.id
        token = (await create_session(redis, judge_id, STAFF, 7200, "Giám khảo đo tải")).token
        return round_id, token
    finally:
        await redis.aclose()
        await engine.dispose()


async def _papers(base: str, submitters: list[tuple[int, str]]) -> list[tuple[int, str, list[tuple[int, str]]]]:
    """Each attempt's questions with an option token to save (the API's per-attempt option ids)."""
    out = []
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        for aid, token in submitters:
            response = await http.get(f"/api/v1/attempts/{aid}", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.text
            body = response.json()
            out.append((aid, token, [(q["id"], q["options"][0]["id"]) for q in body["questions"]]))
    return out


async def phase(base: str, papers, clients: int, pause: float, *, seconds: float | None = None,
                export: tuple[int, str] | None = None, exports: int = 1) -> dict:
    """Saves answers until `seconds` pass, or until the export started here is done."""
    samples: list[float] = []
    slow: list[tuple[float, float]] = []  # (seconds into the phase, latency): where the tail is
    timeline: list[tuple[float, str, int]] = []  # the export's progress as the judge's page sees it
    errors = 0
    stop = asyncio.Event()
    result: dict = {}
    phase_start = time.perf_counter()
    load_before = os.getloadavg()[0]

    async def client(i: int) -> None:
        nonlocal errors
        aid, token, questions = papers[i % len(papers)]
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
            # Not counted: the connection's setup. Each phase opens new clients, and 8 connects
            # among the ~1,000 saves of a short export phase would be its p99 on their own.
            await http.put(f"/api/v1/attempts/{aid}/answers/{questions[0][0]}", json={"option_id": questions[0][1]})
            n = 0
            while not stop.is_set():
                qid, option = questions[n % len(questions)]
                n += 1
                began = time.perf_counter()
                r = await http.put(f"/api/v1/attempts/{aid}/answers/{qid}", json={"option_id": option})
                if r.status_code == 200:
                    samples.append(time.perf_counter() - began)
                    slow.append((round(began - phase_start, 2), round(samples[-1] * 1000, 1)))
                    if len(slow) > 400:
                        slow.sort(key=lambda x: -x[1])
                        del slow[20:]
                else:
                    errors += 1
                await asyncio.sleep(pause)

    async def timer() -> None:
        if export is None:
            await asyncio.sleep(seconds)
        else:
            round_id, token = export
            headers = {"Authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as http:
                # One export after another (BENCH_EXPORTS): a quiet machine writes 100,000 rows in
                # ~5 s, ~1,000 saves, too few for a p99 that means something.
                for _ in range(exports):
                    began = time.perf_counter()
                    started = await http.post(f"/api/v1/admin/rounds/{round_id}/exports/ranking")
                    assert started.status_code == 202, started.text
                    while True:
                        await asyncio.sleep(0.5)
                        status = (await http.get(started.json()["status_url"])).json()
                        point = (round(time.perf_counter() - phase_start, 1), status["status"], status["done"])
                        if not timeline or timeline[-1][1:] != point[1:]:
                            timeline.append(point)
                        if status["status"] not in ("queued", "running"):
                            break
                    result.setdefault("export_status", []).append(status["status"])
                    result.setdefault("export_rows", []).append(status["done"])
                    result.setdefault("export_seconds", []).append(round(time.perf_counter() - began, 1))
        stop.set()

    await asyncio.gather(timer(), *(client(i) for i in range(clients)))
    slow.sort(key=lambda x: -x[1])
    extra = {"export_timeline": timeline} if timeline else {}
    return {**percentiles(samples), "errors": errors, **result, "load_average": [load_before, os.getloadavg()[0]],
            "slowest": slow[:12], **extra}


def main() -> int:
    database_url = _env("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ttn_jobs_bench")
    redis_url = _env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
    rows, clients = int(_env("BENCH_ROWS", "100000")), int(_env("BENCH_CLIENTS", "8"))
    pause, seconds = int(_env("BENCH_PAUSE_MS", "20")) / 1000, float(_env("BENCH_SECONDS", "20"))
    exports = int(_env("BENCH_EXPORTS", "3"))
    ensure_database(database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "SWEEP_INTERVAL_SECONDS": "0",
           "SECRET_KEY": "bench-" + "x" * 40, "LOG_FORMAT": "json", "JOBS_QUEUE": f"bench-{os.getpid()}"}
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    _, submitters = asyncio.run(seed_submitters(database_url, redis_url, clients))
    round_id, judge = asyncio.run(seed_export(database_url, redis_url, rows))
    report: dict = {"rows": rows, "clients": clients, "pause_ms": pause * 1000, "exports_per_phase": exports}
    log = tempfile.TemporaryFile()
    for mode in ("worker", "in_process"):
        server = SlowStartServer(1, {"DATABASE_URL": database_url, "REDIS_URL": redis_url, "SWEEP_INTERVAL_SECONDS": "0",
                            "SECRET_KEY": env["SECRET_KEY"], "JOBS_QUEUE": env["JOBS_QUEUE"],
                            "JOBS_IN_PROCESS": "1" if mode == "in_process" else "0"}, log)
        worker = None
        if mode == "worker":
            worker = subprocess.Popen([sys.executable, "-m", "app", "worker"], cwd=ROOT, env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        try:
            server.wait()
            papers = asyncio.run(_papers(server.base, submitters))
            asyncio.run(phase(server.base, papers, clients, pause, seconds=3))  # warm-up: caches, pools
            if mode == "worker":
                report["baseline"] = asyncio.run(phase(server.base, papers, clients, pause, seconds=seconds))
            report[f"during_export_{mode}"] = asyncio.run(phase(server.base, papers, clients, pause,
                                                                export=(round_id, judge), exports=exports))
        finally:
            server.stop()
            if worker:
                worker.terminate()
                try:
                    worker.wait(90)  # its shutdown grace, on a loaded machine
                except subprocess.TimeoutExpired:
                    worker.kill()
    base = report["baseline"]["p99_ms"]
    report["p99_ratio_worker"] = round(report["during_export_worker"]["p99_ms"] / base, 2)
    report["p99_ratio_in_process"] = round(report["during_export_in_process"]["p99_ms"] / base, 2)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
