"""`make bench`: how many participants one machine serves, and where the limit is.

For each worker count (1, then 2) it starts the app in its production configuration (uvicorn
--workers N --loop uvloop --http httptools --no-access-log, PostgreSQL and Redis on loopback),
writes fresh test data (a contest, an open round, pre-registered participants) and runs bounded
headless Locust phases against it:

1. ceiling  - GET /api/v1/ping, no think time: the cheapest JSON answer of this app;
2. save     - PUT /api/v1/attempts/{id}/answers/{qid}, no think time, on attempts of participants
              already logged in (the hot path: every participant sends ~20 of these);
3. journeys - whole participant journeys (log in or register, contest page, open an attempt,
              answer 20 questions with compressed think time, submit with a prediction, leaderboard
              if the app has one) plus leaderboard watchers and an organizer. A first level
              measures what one journey costs in CPU; the next levels aim at 70 %, 90 % and 110 %
              of the load that would fill the machine's cores, and stop at the first level that
              breaks the targets (any error, or answer save p99 >= 250 ms).

Locust runs on the same cores as the server, so every phase also records the CPU each party
used (app workers, PostgreSQL, Redis, Locust itself, anything else) and reports figures as
ratios measured in the same run: save throughput / ping throughput, and server CPU per journey
(journeys per second per core).

Environment (all optional): BENCH_DATABASE_URL (default postgresql://postgres@127.0.0.1:5432/ttn_bench,
created if missing; never DATABASE_URL, so a configured database is never loaded by accident),
BENCH_REDIS_URL (default redis://127.0.0.1:6379/5), BENCH_WORKERS (default "1,2"),
BENCH_SAT_SECONDS (15), BENCH_SAT_USERS (32), BENCH_LEVEL_SECONDS (25), BENCH_THINK ("0.2,0.8"),
BENCH_ACCOUNTS (20000 per worker count), BENCH_OUT (var/bench). DB_POOL_SIZE / DB_MAX_OVERFLOW
pass through to the app.
"""
from __future__ import annotations

import asyncio
import csv
import json
import math
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlparse

import psutil

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SAVE = "/api/v1/attempts/[id]/answers/[qid]"
PING = "/api/v1/ping"
JOURNEY = "participant journey"
P99_TARGET_MS = 250.0


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class Config:
    database_url: str = _env("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/ttn_bench")
    redis_url: str = _env("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
    workers: list[int] = field(default_factory=lambda: [int(w) for w in _env("BENCH_WORKERS", "1,2").split(",")])
    sat_seconds: int = int(_env("BENCH_SAT_SECONDS", "15"))
    sat_users: int = int(_env("BENCH_SAT_USERS", "32"))
    level_seconds: int = int(_env("BENCH_LEVEL_SECONDS", "25"))
    think: str = _env("BENCH_THINK", "0.2,0.8")
    accounts: int = int(_env("BENCH_ACCOUNTS", "20000"))
    sessions: int = 64
    calibration_participants: int = 12
    out: Path = Path(_env("BENCH_OUT", "var/bench"))

    @property
    def mean_think(self) -> float:
        low, _, high = self.think.partition(",")
        return (float(low) + float(high or low)) / 2


# ---------------------------------------------------------------------------------------------
# Services, database, server


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def ensure_services(config: Config) -> None:
    """Starts the loopback PostgreSQL and Redis if they are down (the commands CI uses)."""
    if _is_local(config.database_url) and subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
        _wait(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0, "PostgreSQL")
    if _is_local(config.redis_url) and not _redis_up(config.redis_url):
        subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
                        "--save", "", "--appendonly", "no"], check=True)
        _wait(lambda: _redis_up(config.redis_url), "Redis")


def _redis_up(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:  # noqa: BLE001
        return False


def _wait(check, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise SystemExit(f"{what} did not come up")


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


def server_env(config: Config, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGON2_", "DEADLINE_", "SWEEP_"))}
    env.update(DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, SECRET_KEY=secret,
               VAR_DIR=str(config.out / "var"), PYTHONPATH=str(ROOT))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workers: int, env: dict[str, str], log: Path):
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [str(BIN / "uvicorn"), "app.main:app", "--host", "127.0.0.1", "--port", str(self.port),
                        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
                        "--no-access-log", "--log-level", "warning"]
        self._log = open(log, "w")
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        _wait(self._healthy, "the app server", 60)
        time.sleep(0.5)  # every worker up, not just the first

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"the app server exited: see {self._log.name}")
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)  # our own session, started above
                self.process.wait()
        self._log.close()


# ---------------------------------------------------------------------------------------------
# CPU accounting


def _tree_cpu(root: psutil.Process | None) -> float:
    """CPU seconds used by a process tree so far, including children it has already reaped."""
    if root is None:
        return 0.0
    total = 0.0
    try:
        times = root.cpu_times()
        total += times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                t = child.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return total


def _postmaster() -> psutil.Process | None:
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if proc.info["name"] == "postgres" and psutil.Process(proc.info["ppid"]).name() != "postgres":
                return proc
        except psutil.Error:
            continue
    return None


def _redis_server(url: str) -> psutil.Process | None:
    import redis

    try:
        return psutil.Process(int(redis.Redis.from_url(url).info("server")["process_id"]))
    except Exception:  # noqa: BLE001
        return None


class CpuMeter:
    """CPU used per party between start() and stop(), in cores (CPU seconds per second)."""

    def __init__(self, groups: dict[str, psutil.Process | None]):
        self.groups = groups

    def _sample(self) -> tuple[float, dict[str, float], float]:
        t = psutil.cpu_times()
        busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        return time.monotonic(), {name: _tree_cpu(p) for name, p in self.groups.items()}, busy

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        seconds = end[0] - self._start[0]
        used = {name: (end[1][name] - self._start[1][name]) / seconds for name in self.groups}
        busy = (end[2] - self._start[2]) / seconds
        used["other"] = max(0.0, busy - sum(used.values()))
        used["total"] = busy
        used["seconds"] = seconds
        return used


# ---------------------------------------------------------------------------------------------
# Locust


@dataclass
class Row:
    name: str
    requests: int
    failures: int
    rps: float
    p50: float
    p95: float
    p99: float
    avg: float


@dataclass
class Phase:
    label: str
    users: int
    rows: dict[str, Row]
    cpu: dict[str, float]
    failures: list[str]

    def row(self, name: str) -> Row | None:
        return self.rows.get(name)

    @property
    def errors(self) -> int:
        return sum(r.failures for r in self.rows.values())


def _number(value: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def run_locust(label: str, classes: list[str], users: int, spawn_seconds: float, seconds: int, *, server: Server,
               data_file: Path, think: str, meter: CpuMeter, out: Path, env: dict[str, str]) -> Phase:
    prefix = out / re.sub(r"\W+", "-", label)
    spawn_rate = max(1.0, users / max(spawn_seconds, 0.1))
    command = [str(BIN / "locust"), "-f", str(ROOT / "load_tests" / "locustfile.py"), "--headless",
               "-u", str(users), "-r", f"{spawn_rate:.2f}", "-t", f"{int(spawn_seconds + seconds)}s",
               "--host", server.url, "--csv", str(prefix), "--reset-stats", "--only-summary",
               "--stop-timeout", "0", "--exit-code-on-error", "0", "--loglevel", "INFO",
               "--ttn-data", str(data_file), "--ttn-think", think, *classes]
    locust_env = {**env, "TTN_BENCH_CLASSES": "1"}
    process = subprocess.Popen(command, cwd=ROOT, env=locust_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, start_new_session=True)
    meter.groups["locust"] = psutil.Process(process.pid)
    output: list[str] = []
    spawned, finished = threading.Event(), threading.Event()

    def read():
        for line in process.stdout:
            output.append(line)
            if "All users spawned" in line:
                spawned.set()
            if "run-time limit reached" in line or "Shutting down" in line:
                finished.set()
        spawned.set()
        finished.set()

    threading.Thread(target=read, daemon=True).start()
    spawned.wait(spawn_seconds + 60)
    meter.start()
    finished.wait(spawn_seconds + seconds + 60)
    cpu = meter.stop()
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # our own session, started above
        process.wait()
    (out / f"{prefix.name}.log").write_text("".join(output))
    rows: dict[str, Row] = {}
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise SystemExit(f"locust wrote no stats for {label}; its output:\n{''.join(output[-40:])}")
    with open(stats_file, newline="") as f:
        for r in csv.DictReader(f):
            name = r["Name"] if r["Type"] != "JOURNEY" else JOURNEY
            rows[name] = Row(name, int(r["Request Count"]), int(r["Failure Count"]), _number(r["Requests/s"]),
                             _number(r["50%"]), _number(r["95%"]), _number(r["99%"]), _number(r["Average Response Time"]))
    failures = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with open(failures_file, newline="") as f:
            failures = [f"{r['Occurrences']}x {r['Method']} {r['Name']}: {r['Error'][:160]}" for r in csv.DictReader(f)]
    return Phase(label, users, rows, cpu, failures)


# ---------------------------------------------------------------------------------------------
# The run


@dataclass
class WorkerResult:
    workers: int
    ping: Phase
    save: Phase
    levels: list[Phase]
    best: Phase | None
    cpu_per_journey: dict[str, float]

    @property
    def ratio(self) -> float:
        return self.save.row(SAVE).rps / self.ping.row(PING).rps


def _ok(phase: Phase) -> bool:
    save = phase.row(SAVE)
    return phase.errors == 0 and save is not None and save.p99 < P99_TARGET_MS


def bench_workers(config: Config, workers: int, secret: str, groups_base: dict) -> WorkerResult:
    out = config.out / f"{workers}-worker"
    out.mkdir(parents=True, exist_ok=True)
    env = server_env(config, secret)
    data_file = out / "loadtest.json"
    print(f"\n== {workers} worker(s): test data", flush=True)
    subprocess.run([sys.executable, "-m", "load_tests.setup_data", "--users", str(config.accounts),
                    "--sessions", str(config.sessions), "--out", str(data_file)], cwd=ROOT, env=env, check=True)
    server = Server(workers, env, out / "server.log")
    print(f"   server: {' '.join(server.command[1:])}", flush=True)
    meter = CpuMeter({"app": psutil.Process(server.process.pid), **groups_base})
    common = dict(server=server, data_file=data_file, think=config.think, meter=meter, out=out, env=env)
    try:
        # Warm-up: connection pools, prepared statements, caches; not reported.
        run_locust("warmup", ["BarePing", "AnswerSaver"], 16, 1, 5, **common)
        ping = run_locust("ceiling", ["BarePing"], config.sat_users, 1, config.sat_seconds, **common)
        _print_phase(ping, [PING])
        save = run_locust("save", ["AnswerSaver"], config.sat_users, 1, config.sat_seconds, **common)
        _print_phase(save, [SAVE])
        print(f"   save/ping throughput ratio: {save.row(SAVE).rps / ping.row(PING).rps:.2f}", flush=True)

        levels: list[Phase] = []
        journey_seconds = 21 * config.mean_think + 1.0  # 20 answers + submit; refined by the first level
        spawn = journey_seconds  # users start over one journey's length: logins do not come in one burst
        participants = config.calibration_participants
        calibration = run_locust(f"journeys-{participants}", ["Participant", "LeaderboardWatcher", "Organizer"],
                                 _total_users(participants), spawn, config.level_seconds, **common)
        levels.append(calibration)
        _print_level(calibration)
        cpu_per_journey = _cpu_per_journey(calibration)
        journeys = calibration.row(JOURNEY)
        if journeys and journeys.requests and calibration.errors == 0:
            duration = journeys.avg / 1000
            full_rate = psutil.cpu_count() / cpu_per_journey["total"]  # journeys/s that would fill every core
            for share in (0.7, 0.9, 1.1):
                participants = max(participants + 1, round(share * full_rate * duration))
                level = run_locust(f"journeys-{participants}", ["Participant", "LeaderboardWatcher", "Organizer"],
                                   _total_users(participants), duration, config.level_seconds, **common)
                levels.append(level)
                _print_level(level, f"({share:.0%} of the estimated full-machine rate {full_rate:.1f}/s)")
                if not _ok(level):
                    break
        sustained = [lv for lv in levels if _ok(lv)]
        best = max(sustained, key=lambda lv: lv.row(JOURNEY).rps if lv.row(JOURNEY) else 0) if sustained else None
        if best is not None:
            cpu_per_journey = _cpu_per_journey(best)
        return WorkerResult(workers, ping, save, levels, best, cpu_per_journey)
    finally:
        server.stop()


def _total_users(participants: int) -> int:
    # Participant : LeaderboardWatcher : Organizer weights are 20 : 2 : 1.
    return math.ceil(participants * 23 / 20)


def _cpu_per_journey(phase: Phase) -> dict[str, float]:
    journeys = phase.row(JOURNEY)
    rate = journeys.rps if journeys and journeys.rps > 0 else float("nan")
    return {k: phase.cpu[k] / rate for k in ("app", "postgres", "redis", "locust", "other", "total")}


# ---------------------------------------------------------------------------------------------
# Printing


def _cpu_text(cpu: dict[str, float]) -> str:
    return (f"CPU cores: app {cpu['app']:.2f}, postgres {cpu['postgres']:.2f}, redis {cpu['redis']:.2f}, "
            f"locust {cpu['locust']:.2f}, other {cpu['other']:.2f} (busy {cpu['total']:.2f} of {psutil.cpu_count()})")


def _row_text(row: Row) -> str:
    return (f"{row.name:<44} {row.rps:8.1f} req/s  p50 {row.p50:5.0f}  p95 {row.p95:5.0f}  p99 {row.p99:5.0f} ms"
            f"  errors {row.failures}")


def _print_phase(phase: Phase, names: list[str]) -> None:
    print(f"   {phase.label} ({phase.users} users, no think time):", flush=True)
    for name in names:
        if phase.row(name):
            print("     " + _row_text(phase.row(name)))
    print(f"     {_cpu_text(phase.cpu)}")
    for failure in phase.failures[:5]:
        print(f"     ! {failure}")


def _print_level(phase: Phase, note: str = "(calibration)") -> None:
    journeys, save = phase.row(JOURNEY), phase.row(SAVE)
    rate = journeys.rps if journeys else 0.0
    p99 = save.p99 if save else float("nan")
    verdict = "ok" if _ok(phase) else "MISSES TARGET"
    print(f"   journeys, {phase.users} users {note}: {rate:.2f} journeys/s, save p99 {p99:.0f} ms, "
          f"errors {phase.errors} -> {verdict}", flush=True)
    print(f"     {_cpu_text(phase.cpu)}")
    for failure in phase.failures[:5]:
        print(f"     ! {failure}")


def report(config: Config, results: list[WorkerResult]) -> str:
    lines = [f"# make bench, {datetime.now():%Y-%m-%d %H:%M}", "",
             f"Machine: {psutil.cpu_count()} cores shared by the server, PostgreSQL, Redis and Locust. "
             f"Think time between answers {config.think} s (compressed; see README).", ""]
    for r in results:
        lines.append(f"## {r.workers} worker(s)")
        lines.append("")
        lines.append("| phase | endpoint | req/s | p50 ms | p95 ms | p99 ms | errors |")
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for phase, names in ((r.ping, [PING]), (r.save, [SAVE])):
            for name in names:
                row = phase.row(name)
                lines.append(f"| {phase.label} ({phase.users} users) | {name} | {row.rps:.1f} | {row.p50:.0f} | "
                             f"{row.p95:.0f} | {row.p99:.0f} | {row.failures} |")
        if r.best:
            for row in sorted(r.best.rows.values(), key=lambda x: -x.rps):
                if row.name == "Aggregated":
                    continue
                unit = "journeys/s" if row.name == JOURNEY else ""
                lines.append(f"| {r.best.label} ({r.best.users} users) | {row.name} | {row.rps:.2f} {unit} | "
                             f"{row.p50:.0f} | {row.p95:.0f} | {row.p99:.0f} | {row.failures} |")
        lines.append("")
        lines.append(f"- save/ping throughput ratio: **{r.ratio:.2f}**")
        ping_cpu = (r.ping.cpu["app"] + r.ping.cpu["postgres"] + r.ping.cpu["redis"]) / r.ping.row(PING).rps * 1000
        save_cpu = (r.save.cpu["app"] + r.save.cpu["postgres"] + r.save.cpu["redis"]) / r.save.row(SAVE).rps * 1000
        lines.append(f"- server CPU per request (app+PostgreSQL+Redis): ping {ping_cpu:.2f} ms, save {save_cpu:.2f} ms "
                     f"(app {r.save.cpu['app'] / r.save.row(SAVE).rps * 1000:.2f}, PostgreSQL "
                     f"{r.save.cpu['postgres'] / r.save.row(SAVE).rps * 1000:.2f}, Redis "
                     f"{r.save.cpu['redis'] / r.save.row(SAVE).rps * 1000:.2f})")
        c = r.cpu_per_journey
        server = c["app"] + c["postgres"] + c["redis"]
        lines.append(f"- CPU per journey: app {c['app'] * 1000:.0f} ms, PostgreSQL {c['postgres'] * 1000:.0f} ms, "
                     f"Redis {c['redis'] * 1000:.0f} ms (server {server * 1000:.0f} ms) -> "
                     f"**{1 / server:.1f} journeys/s per core**; Locust {c['locust'] * 1000:.0f} ms")
        lines.append("- journey levels: " + "; ".join(
            f"{lv.users} users: {lv.row(JOURNEY).rps if lv.row(JOURNEY) else 0:.2f}/s, save p99 "
            f"{lv.row(SAVE).p99 if lv.row(SAVE) else float('nan'):.0f} ms, errors {lv.errors}, busy "
            f"{lv.cpu['total']:.2f} cores" for lv in r.levels))
        if r.best:
            lines.append(f"- highest sustained level: {r.best.users} users, "
                         f"{r.best.row(JOURNEY).rps:.2f} journeys/s on this machine (with Locust on the same cores)")
        else:
            lines.append("- no journey level met the targets (0 errors, save p99 < 250 ms)")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    config = Config()
    os.chdir(ROOT)
    started = time.monotonic()
    config.out.mkdir(parents=True, exist_ok=True)
    ensure_services(config)
    ensure_database(config.database_url)
    secret = secrets.token_urlsafe(32)
    env = server_env(config, secret)
    subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True)
    groups = {"postgres": _postmaster() if _is_local(config.database_url) else None,
              "redis": _redis_server(config.redis_url) if _is_local(config.redis_url) else None}
    results = [bench_workers(config, w, secret, dict(groups)) for w in config.workers]
    text = report(config, results)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (config.out / f"results-{stamp}.md").write_text(text)
    (config.out / f"results-{stamp}.json").write_text(json.dumps([asdict(r) for r in results], indent=1, default=str))
    print("\n" + text)
    print(f"(written to {config.out}/results-{stamp}.md; took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
