"""Leaderboard benchmark (`make bench-leaderboard`, or `python -m load_tests.bench_leaderboard`).

Two parts, each reporting ratios measured in the same run (the machine is shared and noisy):

1. A board of BENCH_MEMBERS (1,000,000) participants in Redis, filled with the rebuild's bulk
   writer; then, one request at a time, "my rank" with two neighbours above and below (the
   /leaderboard/me read), the top 100 (the page everyone opens), a page deep in the board, and
   recording an improved attempt (what every submit does) — each as p50/p99 latency and as a
   multiple of a bare Redis PING measured in the same run.
2. BENCH_SUBMITS (10,000) participants with an attempt in progress (answers saved) submit at
   once through the HTTP API of `uvicorn --workers BENCH_WORKERS` (PostgreSQL + Redis on
   loopback), at most BENCH_CONCURRENCY requests in flight; then the same number of GET
   /api/v1/ping at the same concurrency (the stack's ceiling). Afterwards the live board must
   equal the order computed from the database, participant for participant.

Environment: BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ttn_bench, created
if missing, migrated; rows are only added), BENCH_REDIS_URL (default redis://127.0.0.1:6379/5;
only keys of the bench's own rounds and sessions are written, and the board is removed at the
end), BENCH_MEMBERS, BENCH_SUBMITS, BENCH_CONCURRENCY (1000), BENCH_WORKERS (2), BENCH_PART
("board,submits").
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parents[1]
T0 = datetime(2026, 11, 1, 1, 0, tzinfo=timezone.utc)
UNITS = [f"Đơn vị số {i}" for i in range(500)]
PROVINCES = [f"Tỉnh số {i}" for i in range(63)]


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = sorted(x * 1000 for x in samples_s)
    pick = lambda q: ms[min(len(ms) - 1, int(q * len(ms)))]  # noqa: E731
    return {"n": len(ms), "p50_ms": round(pick(0.50), 3), "p95_ms": round(pick(0.95), 3),
            "p99_ms": round(pick(0.99), 3), "mean_ms": round(statistics.fmean(ms), 3)}


async def timed(fn, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return samples


# ---------------------------------------------------------------------------------------------
# Part 1: a million members


def _synthetic_results(count: int, seed: int):
    from app.leaderboard.ordering import Result

    rng = random.Random(seed)
    for user_id in range(1, count + 1):
        correct = min(20, max(0, int(rng.gauss(14, 4))))
        yield Result(attempt_id=user_id, user_id=user_id, correct=correct, total=20,
                     time_ms=rng.randrange(60_000, 900_000),
                     submitted_at=T0 + timedelta(milliseconds=rng.randrange(7 * 86_400_000)), prediction=None,
                     full_name="Nguyễn Văn An", unit=rng.choice(UNITS), province=rng.choice(PROVINCES))


async def bench_board(redis_url: str, members: int) -> dict:
    from redis.asyncio import Redis

    from app.leaderboard.board import ALL, LIVE, BoardKeys, RoundBoard, Scope
    from app.leaderboard.ordering import Result, live_entry

    redis = Redis.from_url(redis_url, decode_responses=True)
    board = RoundBoard(redis, BoardKeys(900_000_000 + random.randrange(10**6), LIVE))
    rng = random.Random(1)
    try:
        used_before = (await redis.info("memory"))["used_memory"]
        start = time.perf_counter()
        await board.replace_all(live_entry(r) for r in _synthetic_results(members, 1))
        fill_s = time.perf_counter() - start
        used_after = (await redis.info("memory"))["used_memory"]
        assert await board.size() == members

        users = [rng.randrange(1, members + 1) for _ in range(3000)]
        it = iter(users)
        ping = await timed(redis.ping, 3000)
        rank = await timed(lambda: board.around(ALL, next(it), 2, 2), 3000)
        top = await timed(lambda: board.page(ALL, 0, 100), 1000)
        deep = await timed(lambda: board.page(ALL, members // 2, 100), 1000)
        unit_top = await timed(lambda: board.page(Scope("unit", UNITS[7]), 0, 100), 1000)
        improved = iter(Result(attempt_id=2_000_000 + i, user_id=rng.randrange(1, members + 1), correct=20, total=20,
                               time_ms=rng.randrange(30_000, 60_000), submitted_at=T0 + timedelta(days=8),
                               prediction=None, full_name="Nguyễn Văn An", unit=rng.choice(UNITS),
                               province=rng.choice(PROVINCES)) for i in range(3000))
        record = await timed(lambda: board.record(live_entry(next(improved))), 3000)

        # Throughput with 64 readers at once (one process, one event loop).
        async def reader(n: int):
            for _ in range(n):
                await board.around(ALL, rng.randrange(1, members + 1), 2, 2)
        start = time.perf_counter()
        await asyncio.gather(*(reader(200) for _ in range(64)))
        rank_rps = 64 * 200 / (time.perf_counter() - start)

        figures = {"ping": percentiles(ping), "rank_with_neighbours": percentiles(rank),
                   "top_100": percentiles(top), "page_100_at_middle": percentiles(deep),
                   "unit_top_100": percentiles(unit_top), "record_submit": percentiles(record)}
        base = figures["ping"]["p50_ms"]
        return {"members": members, "fill_seconds": round(fill_s, 1),
                "fill_members_per_second": round(members / fill_s),
                "redis_memory_mb": round((used_after - used_before) / 2**20),
                "latency": figures,
                "p50_over_ping": {k: round(v["p50_ms"] / base, 2) for k, v in figures.items()},
                "rank_lookups_per_second_64_concurrent": round(rank_rps)}
    finally:
        await board.delete()
        await redis.aclose()


# ---------------------------------------------------------------------------------------------
# Part 2: 10,000 concurrent submits through the API


def ensure_database(url: str) -> None:
    import asyncpg

    parsed = urlparse(url.replace("postgresql+asyncpg", "postgresql"))
    name = parsed.path.lstrip("/")

    async def create():
        conn = await asyncpg.connect(parsed._replace(path="/postgres").geturl())
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


async def seed_submitters(database_url: str, redis_url: str, count: int) -> tuple[int, list[tuple[int, str]]]:
    """A contest, an open round, `count` participants each with an attempt in progress and its
    20 answers saved (random correctness) and a login session. Returns (round id, [(attempt id,
    token)])."""
    from redis.asyncio import Redis
    from sqlalchemy import insert, select

    from app.accounts.models import User
    from app.attempts.models import IN_PROGRESS, Attempt, AttemptAnswer
    from app.config import Settings
    from app.contests.models import Contest, Round
    from app.core.clock import utcnow
    from app.core.db import create_engine, make_sessionmaker
    from app.core.sessions import create_session
    from app.questions.importing.results import ParsedQuestion
    from app.questions.models import Option
    from app.questions.service import add_parsed_questions

    settings = Settings(DATABASE_URL=database_url, REDIS_URL=redis_url)
    engine = create_engine(settings)
    sessions = make_sessionmaker(engine)
    redis = Redis.from_url(redis_url, decode_responses=True)
    rng = random.Random(2)
    run = f"{int(time.time())}-{random.SystemRandom().randrange(10**6)}"
    phone_base = random.SystemRandom().randrange(10**8 - count)  # phones are unique: a fresh range per run
    try:
        async with sessions() as db:
            contest = Contest(slug=f"bench-board-{run}", title="Cuộc thi đo tải bảng xếp hạng", rules_text="")
            db.add(contest)
            await db.commit()
            await add_parsed_questions(db, contest.id, [
                ParsedQuestion(row=i + 2, text=f"Câu hỏi đo tải {run}-{i}?", options=("Đúng", "Sai 1", "Sai 2", "Sai 3"),
                               answer_index=0, topic=None, difficulty=2, explanation=None) for i in range(20)])
            now = utcnow()
            round_ = Round(contest_id=contest.id, name="Đợt đo tải", open_at=now - timedelta(hours=1),
                           close_at=now + timedelta(days=1), questions_per_attempt=20, time_limit_seconds=3600,
                           attempts_allowed=2, quotas=[], prediction_enabled=True)
            db.add(round_)
            await db.commit()
        async with sessions() as db:
            from app.questions.models import Question

            qids = (await db.scalars(select(Question.id).where(Question.contest_id == contest.id)
                                     .order_by(Question.id))).all()
            rows = (await db.execute(select(Option.question_id, Option.id, Option.is_correct)
                                     .where(Option.question_id.in_(qids)))).all()
            by_question: dict[int, list[tuple[int, bool]]] = {}
            for qid, oid, ok in rows:
                by_question.setdefault(qid, []).append((oid, ok))
            paper = [[qid, [oid for oid, _ in by_question[qid]]] for qid in qids]
            users = [{"full_name": "Nguyễn Văn An", "phone": f"07{phone_base + i:08d}",
                      "password_hash": "x", "unit": rng.choice(UNITS), "province": rng.choice(PROVINCES)}
                     for i in range(count)]
            user_ids = (await db.scalars(insert(User).returning(User.id), users)).all()
            started = utcnow() - timedelta(minutes=10)
            attempts = [{"round_id": round_.id, "user_id": uid, "seq": 1, "status": IN_PROGRESS,
                         "started_at": started - timedelta(milliseconds=rng.randrange(600_000)),
                         "deadline": started + timedelta(hours=1), "paper": paper, "total": 20}
                        for uid in user_ids]
            attempt_ids = (await db.scalars(insert(Attempt).returning(Attempt.id), attempts)).all()
            skill = {aid: rng.random() for aid in attempt_ids}
            answers = []
            for aid in attempt_ids:
                for qid in qids:
                    right = rng.random() < 0.5 + 0.5 * skill[aid]
                    answers.append({"attempt_id": aid, "question_id": qid,
                                    "option_id": next(o for o, ok in by_question[qid] if ok == right)})
            for start in range(0, len(answers), 20_000):
                await db.execute(insert(AttemptAnswer), answers[start:start + 20_000])
            await db.commit()
        tokens = []
        for start in range(0, len(user_ids), 50):
            chunk = user_ids[start:start + 50]
            made = await asyncio.gather(*(create_session(redis, uid, "participant", 7200) for uid in chunk))
            tokens += [m.token for m in made]
        return round_.id, list(zip(attempt_ids, tokens))
    finally:
        await redis.aclose()
        await engine.dispose()


class Server:
    def __init__(self, workers: int, env: dict[str, str], log):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(workers), "--no-access-log", "--loop", "uvloop", "--http", "httptools",
             "--backlog", "4096"],
            cwd=ROOT, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT)

    def wait(self) -> None:
        import httpx

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise SystemExit("the app did not start")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


async def _exchange(reader, writer, host: str, method: str, path: str, headers: dict, body: dict | None) -> int:
    """One HTTP/1.1 request on a kept-alive connection; returns the status. A minimal client: the
    app always answers with Content-Length, and a general-purpose client's connection pool costs
    more CPU than the server at a thousand connections (httpx did, on this 2-core machine)."""
    payload = json.dumps(body).encode() if body is not None else b""
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(payload)}"]
    if body is not None:
        head.append("Content-Type: application/json")
    head += [f"{k}: {v}" for k, v in headers.items()]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def fire(base: str, requests: list[tuple[str, str, dict, dict | None]], concurrency: int) -> dict:
    """Sends every request with `concurrency` connections open at once, each taking the next
    request as soon as its previous answer arrived; latency and status counts."""
    parsed = urlparse(base)
    host = f"{parsed.hostname}:{parsed.port}"
    queue = list(reversed(requests))
    latencies: list[float] = []
    statuses: dict[str, int] = {}

    async def connection():
        reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
        try:
            while queue:
                method, path, headers, body = queue.pop()
                start = time.perf_counter()
                try:
                    key = str(await _exchange(reader, writer, host, method, path, headers, body))
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                    key = type(exc).__name__
                    writer.close()
                    reader, writer = await asyncio.open_connection(parsed.hostname, parsed.port)
                latencies.append(time.perf_counter() - start)
                statuses[key] = statuses.get(key, 0) + 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(requests)))))
    wall = time.perf_counter() - start
    return {"requests": len(requests), "wall_seconds": round(wall, 2), "per_second": round(len(requests) / wall),
            "statuses": statuses, **percentiles(latencies)}


async def verify_board(database_url: str, redis_url: str, round_id: int, expected: int) -> dict:
    from redis.asyncio import Redis

    from app.config import Settings
    from app.core.db import create_engine, make_sessionmaker
    from app.leaderboard.board import LIVE, BoardKeys, RoundBoard
    from app.leaderboard.ordering import best_per_user, live_key, user_of_member
    from app.leaderboard.ranking import load_results

    engine = create_engine(Settings(DATABASE_URL=database_url, REDIS_URL=redis_url))
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        async with make_sessionmaker(engine)() as db:
            results = await load_results(db, round_id)
        reference = [r.user_id for r in sorted(best_per_user(results, live_key).values(), key=live_key)]
        board = RoundBoard(redis, BoardKeys(round_id, LIVE))
        members = [user_of_member(m) for m in await board.members()]
        units = sum(n for _, n in (await board.groups("unit", 0, 10_000))[1])
        ok = members == reference and units == len(reference)
        await board.delete()
        return {"attempts_sent": expected, "submitted_in_database": len(results), "on_board": len(members),
                "order_equals_database": ok}
    finally:
        await redis.aclose()
        await engine.dispose()


def bench_submits(database_url: str, redis_url: str, count: int, concurrency: int, workers: int) -> dict:
    if database_url.startswith("postgresql"):
        ensure_database(database_url)
    env = {"DATABASE_URL": database_url, "REDIS_URL": redis_url}
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env={**os.environ, **env}, check=True,
                   stdout=subprocess.DEVNULL)
    start = time.perf_counter()
    round_id, submitters = asyncio.run(seed_submitters(database_url, redis_url, count))
    seed_s = time.perf_counter() - start
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    log = open(out / "leaderboard-server.log", "w")  # noqa: SIM115 (kept open for the server's life)
    server = Server(workers, {**env, "SWEEP_INTERVAL_SECONDS": "0", "SECRET_KEY": "bench-" + "x" * 40}, log)
    try:
        server.wait()
        submits = [("POST", f"/api/v1/attempts/{aid}/submit", {"Authorization": f"Bearer {token}"},
                    {"prediction": random.randrange(count)}) for aid, token in submitters]
        submit = asyncio.run(fire(server.base, submits, concurrency))
        ping = asyncio.run(fire(server.base, [("GET", "/api/v1/ping", {}, None)] * count, concurrency))
    finally:
        server.stop()
        log.close()
    check = asyncio.run(verify_board(database_url, redis_url, round_id, count))
    return {"participants": count, "concurrency": concurrency, "workers": workers, "seed_seconds": round(seed_s, 1),
            "submit": submit, "ping": ping, "submit_throughput_over_ping": round(submit["per_second"] / ping["per_second"], 3),
            "board_check": check}


def main() -> int:
    database_url = _env("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ttn_bench")
    redis_url = _env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    parts = _env("BENCH_PART", "board,submits").split(",")
    report: dict = {"machine": f"{os.cpu_count()} cores, shared", "when": datetime.now(timezone.utc).isoformat()}
    if "board" in parts:
        report["board"] = asyncio.run(bench_board(redis_url, int(_env("BENCH_MEMBERS", "1000000"))))
        print(json.dumps(report["board"], indent=2, ensure_ascii=False), flush=True)
    if "submits" in parts:
        report["submits"] = bench_submits(database_url, redis_url, int(_env("BENCH_SUBMITS", "10000")),
                                          int(_env("BENCH_CONCURRENCY", "1000")), int(_env("BENCH_WORKERS", "2")))
        print(json.dumps(report["submits"], indent=2, ensure_ascii=False), flush=True)
    out = ROOT / "var" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "leaderboard.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    ok = report.get("submits", {}).get("board_check", {}).get("order_equals_database", True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
