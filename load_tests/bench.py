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

Where it writes: a PostgreSQL database of its own (BENCH_DATABASE_URL, default
postgresql://postgres@127.0.0.1:5432/bench, created empty for every run and marked as the bench's,
so that only a database the bench made is ever dropped; never DATABASE_URL, so a configured
database is never loaded by accident) and a redis-server it starts itself on a free loopback port
(no persistence: the database is the record of every answer), unless BENCH_REDIS_URL points at
another one. It refuses the shared `test` database and Redis DB 0.

Knobs (environment, all optional): BENCH_WORKERS (default "1,2"), BENCH_SAT_SECONDS (10),
BENCH_SAT_USERS (32), BENCH_LEVEL_SECONDS (16), BENCH_LEVELS ("0.8,1.05": shares of the estimated
full-machine journey rate tried after the calibration level), BENCH_THINK ("0.1,0.5" seconds
between answers, compressed), BENCH_ACCOUNTS (20000 per worker count), BENCH_OUT (var/bench).
DB_POOL_SIZE / DB_MAX_OVERFLOW pass through to the app. The whole run takes about 4 minutes.
"""
from __future__ import annotations

import asyncio
import csv
import json
import math
import os
import re
import secrets
import shutil
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
SEED_ROUND = 132_106   # participants of the seed province's round
WINDOW_MINUTES = 30


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


@dataclass
class Config:
    database_url: str = _env("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/bench")
    redis_url: str = os.environ.get("BENCH_REDIS_URL", "")  # empty: start a redis-server of our own
    workers: list[int] = field(default_factory=lambda: [int(w) for w in _env("BENCH_WORKERS", "1,2").split(",")])
    sat_seconds: int = int(_env("BENCH_SAT_SECONDS", "10"))
    sat_users: int = int(_env("BENCH_SAT_USERS", "32"))
    level_seconds: int = int(_env("BENCH_LEVEL_SECONDS", "16"))
    levels: list[float] = field(default_factory=lambda: [float(x) for x in _env("BENCH_LEVELS", "0.8,1.05").split(",")])
    think: str = _env("BENCH_THINK", "0.1,0.5")
    accounts: int = int(_env("BENCH_ACCOUNTS", "20000"))
    sessions: int = 64
    calibration_participants: int = 12
    out: Path = Path(_env("BENCH_OUT", "var/bench"))
    profile: bool = _env("BENCH_PROFILE", "0") == "1"
    # BENCH_ONLY=steps: only the per-step table (load_tests/steps.py); =phases: only the Locust phases;
    # =storm: only the round-opening storm and the login burst (load_tests/storm.py).
    steps: bool = os.environ.get("BENCH_ONLY", "") in ("", "steps")
    phases: bool = os.environ.get("BENCH_ONLY", "") in ("", "phases")
    storm: bool = os.environ.get("BENCH_ONLY", "") == "storm"  # `make bench-storm` (load_tests/storm.py)

    @property
    def mean_think(self) -> float:
        low, _, high = self.think.partition(",")
        return (float(low) + float(high or low)) / 2


# ---------------------------------------------------------------------------------------------
# Services, database, server


def _is_local(url: str) -> bool:
    return (urlparse(url).hostname or "") in ("127.0.0.1", "localhost", "::1")


def ensure_postgres(config: Config) -> None:
    """Starts the loopback PostgreSQL if it is down (the command CI uses); never restarts it."""
    if _is_local(config.database_url) and subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode != 0:
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"], check=True)
        _wait(lambda: subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0, "PostgreSQL")


def refuse_shared_targets(config: Config) -> None:
    """The bench flushes nothing, but it writes tens of thousands of rows and keys: keep it off
    the databases other people's test suites use."""
    db_name = urlparse(config.database_url).path.lstrip("/")
    if db_name in ("", "test", "postgres"):
        raise SystemExit(f"refusing to load database {db_name!r}: set BENCH_DATABASE_URL to a database of its own")
    if config.redis_url:
        parsed = urlparse(config.redis_url)
        if (parsed.path.lstrip("/") or "0") == "0":
            raise SystemExit("refusing Redis DB 0: set BENCH_REDIS_URL to another DB (e.g. /15) or leave it unset")


class OwnRedis:
    """A redis-server of the bench's own on a free loopback port: its CPU is measured exactly and
    nobody else's keys are touched. No RDB/AOF: Redis is a cache here, PostgreSQL the record."""

    def __init__(self, workdir: Path):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        workdir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", str(workdir.resolve()), "--logfile", "redis.log"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        _wait(lambda: _redis_up(self.url), "the bench's redis-server")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


BENCH_MARK = "thitracnghiem make bench"


def fresh_database(url: str) -> None:
    """Every run starts from an empty database, so that earlier runs' leftovers (attempts the
    sweeper would close mid-measurement, ever more rows) do not change the figures. Only a
    database that carries the bench's own mark is dropped; one without it is used as it is."""
    import asyncpg

    parsed = urlparse(url.replace("postgresql+asyncpg", "postgresql"))
    name = parsed.path.lstrip("/")

    async def recreate():
        conn = await asyncpg.connect(parsed._replace(path="/postgres").geturl())
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            mark = await conn.fetchval("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                                       "WHERE datname = $1", name)
            if exists and mark != BENCH_MARK:
                print(f"note: database {name!r} was not created by make bench: used as it is, not emptied "
                      f"(COMMENT ON DATABASE {name} IS '{BENCH_MARK}' lets the bench recreate it)", flush=True)
                return
            if exists:
                await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.execute(f"COMMENT ON DATABASE \"{name}\" IS '{BENCH_MARK}'")
        finally:
            await conn.close()

    asyncio.run(recreate())


def server_env(config: Config, secret: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARGON2_", "DEADLINE_", "SWEEP_"))}
    # Steady pools: overflow connections are closed when handed back, and a new PostgreSQL
    # connection (a forked backend) costs far more than the queries it then runs.
    env.setdefault("DB_POOL_SIZE", "20")
    env.setdefault("DB_MAX_OVERFLOW", "0")
    # No round trip per pool checkout (README: "Load testing and capacity" explains the trade).
    env.setdefault("DB_POOL_PRE_PING", "false")
    # Every simulated participant comes from 127.0.0.1: per-IP abuse limits would count the whole
    # crowd as one address and answer 429 (a real crowd comes from many). Per-account limits stay.
    for action in ("LOGIN", "REGISTER", "OPEN_ATTEMPT"):
        env.setdefault(f"RATE_{action}_PER_IP", "1000000/60")
    env.update(DATABASE_URL=config.database_url, REDIS_URL=config.redis_url, SECRET_KEY=secret,
               VAR_DIR=str(config.out / "var"), PYTHONPATH=str(ROOT))
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, workers: int, env: dict[str, str], log: Path, app: str = "app.main:app", cwd: Path = ROOT,
                 nice: int = 0):
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # `nice`: the public lane's lower CPU priority (app/core/lanes.py); its workers inherit it.
        self.command = (["nice", "-n", str(nice)] if nice else []) + [str(BIN / "uvicorn"), app, "--host", "127.0.0.1", "--port", str(self.port),
                        "--workers", str(workers), "--loop", "uvloop", "--http", "httptools",
                        "--no-access-log", "--log-level", "warning"]
        self._log = open(log, "w")
        self.process = subprocess.Popen(self.command, cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        _wait(self._healthy, "the app server", 60)
        time.sleep(0.5)  # every worker up, not just the first

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"the app server exited: see {self._log.name}")
        try:
            with urllib.request.urlopen(self.url + "/api/v1/ping", timeout=1) as response:
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


class LanedServer:
    """The two lanes of app/core/lanes.py on this host, as README's "Scaling out" deploys them:
    an inside lane and a public lane (nice 10) of `workers` uvicorn workers each, behind HAProxy
    with the configuration `python -m app balancer-config` writes. Same interface as Server."""

    def __init__(self, workers: int, env: dict[str, str], log: Path, cwd: Path = ROOT):
        from app.core.lanes import PUBLIC_LANE_NICE, balancer_config

        self.workers = workers
        self.inside = Server(workers, env, log.with_name(log.stem + "-inside.log"), cwd=cwd)
        self.public = Server(workers, env, log.with_name(log.stem + "-public.log"), cwd=cwd, nice=PUBLIC_LANE_NICE)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = log.with_name(log.stem + "-haproxy.cfg")
        config.write_text(balancer_config([f"127.0.0.1:{self.public.port}"], [f"127.0.0.1:{self.inside.port}"],
                                          bind=f"127.0.0.1:{self.port}", maxconn=9000))
        haproxy = shutil.which("haproxy") or "/usr/sbin/haproxy"
        self._log = open(log.with_name(log.stem + "-haproxy.log"), "w")
        self.process = subprocess.Popen([haproxy, "-db", "-f", str(config)], stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        _wait(self._healthy, "HAProxy", 30)

    def _healthy(self) -> bool:
        if self.process.poll() is not None:
            raise SystemExit(f"haproxy exited: see {self._log.name}")
        try:
            with urllib.request.urlopen(self.url + "/api/v1/ping", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def pids(self) -> list[int]:
        return [self.process.pid]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)
        self._log.close()
        self.inside.stop()
        self.public.stop()


# ---------------------------------------------------------------------------------------------
# Profiling (BENCH_PROFILE=1): py-spy samples the app workers during the save phase


def start_profiler(server: Server, prefix: Path, seconds: int) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "py-spy"), "record", "--pid", str(server.process.pid), "--subprocesses",
                             "--rate", "200", "--duration", str(seconds), "--format", "raw", "--nonblocking",
                             "--output", f"{prefix}.txt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def finish_profiler(profiler: subprocess.Popen, prefix: Path, top: int = 25, routes_only: bool = False) -> str:
    """Where the samples fell: inclusive share per function of the app's own and its libraries'
    code (collapsed stacks in <prefix>.txt feed any flame graph tool)."""
    profiler.wait(60)
    path = Path(f"{prefix}.txt")
    if not path.exists():
        return "   (py-spy wrote nothing: is ptrace allowed?)"
    inclusive: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        for frame in set(stack.split(";")):
            inclusive[frame] = inclusive.get(frame, 0) + n
    lines = [f"   py-spy, save phase: {total} samples; inclusive share of the busiest frames ({path}):"]
    frames = sorted(inclusive.items(), key=lambda kv: -kv[1])
    if routes_only:  # where a journey's time goes, endpoint by endpoint
        frames = [(f, n) for f, n in frames if re.search(r"\(app/[\w/]*(routes|pages)\.py", f)]
    for frame, n in frames[:top]:
        lines.append(f"     {100 * n / max(total, 1):5.1f}%  {frame[:150]}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# CPU accounting


def _tree_cpu(root: psutil.Process | None) -> dict[int, float]:
    """CPU seconds used so far by a process tree, per process (the root's own figure includes the
    children it has already reaped)."""
    if root is None:
        return {}
    used: dict[int, float] = {}
    try:
        times = root.cpu_times()
        used[root.pid] = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                t = child.cpu_times()
                used[child.pid] = t.user + t.system
            except psutil.Error:
                pass
    except psutil.Error:
        pass
    return used


def _postmaster() -> psutil.Process | None:
    for proc in psutil.process_iter(["name", "ppid"]):
        try:
            if proc.info["name"] == "postgres" and psutil.Process(proc.info["ppid"]).name() != "postgres":
                return proc
        except psutil.Error:
            continue
    return None


class PgBackends:
    """CPU of the PostgreSQL backends serving one database. The cluster is shared with other
    people's test suites, so the postmaster's whole tree would count their work too; a backend's
    process title names its database ("postgres: postgres bench 127.0.0.1(5432) idle")."""

    def __init__(self, postmaster: psutil.Process, database: str):
        self.postmaster = postmaster
        self.marker = f" {database} "

    def __call__(self) -> dict[int, float]:
        used: dict[int, float] = {}
        for child in self.postmaster.children():
            try:
                if self.marker in " ".join(child.cmdline()) + " ":
                    t = child.cpu_times()
                    used[child.pid] = t.user + t.system
            except psutil.Error:
                continue
        return used


def _redis_server(url: str) -> psutil.Process | None:
    import redis

    try:
        return psutil.Process(int(redis.Redis.from_url(url).info("server")["process_id"]))
    except Exception:  # noqa: BLE001
        return None


def _measure(group) -> dict[int, float]:
    return group() if callable(group) else _tree_cpu(group)


class CpuMeter:
    """CPU used per party between start() and stop(), in cores (CPU seconds per second)."""

    def __init__(self, groups: dict[str, psutil.Process | None]):
        self.groups = groups

    def _sample(self) -> tuple[float, dict[str, float], float]:
        t = psutil.cpu_times()
        busy = sum(t) - t.idle - getattr(t, "iowait", 0.0)
        return time.monotonic(), {name: _measure(g) for name, g in self.groups.items()}, busy

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        seconds = end[0] - self._start[0]
        # Per process: one that started during the phase started from zero.
        used = {name: sum(cpu - self._start[1].get(name, {}).get(pid, 0.0) for pid, cpu in end[1][name].items())
                / seconds for name in self.groups}
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
        return sum(r.failures for r in self.rows.values() if r.name != "Aggregated")


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
        run_locust("warmup", ["BarePing", "AnswerSaver"], 16, 1, 4, **common)
        ping = run_locust("ceiling", ["BarePing"], config.sat_users, 1, config.sat_seconds, **common)
        _print_phase(ping, [PING])
        profiler = start_profiler(server, out / "profile-save", config.sat_seconds + 1) if config.profile else None
        save = run_locust("save", ["AnswerSaver"], config.sat_users, 1, config.sat_seconds, **common)
        _print_phase(save, [SAVE])
        if profiler:
            print(finish_profiler(profiler, out / "profile-save"), flush=True)
        print(f"   save/ping throughput ratio: {save.row(SAVE).rps / ping.row(PING).rps:.2f}", flush=True)

        levels: list[Phase] = []
        used_accounts = [0]

        def run_journeys(participants: int, spawn_seconds: float) -> Phase:
            # Each level starts past the accounts earlier levels logged in with: an account allows
            # `attempts_allowed` attempts, and reusing one a third time is refused (409).
            level_env = {**env, "TTN_ACCOUNT_OFFSET": str(used_accounts[0])}
            phase = run_locust(f"journeys-{participants}", ["Participant", "LeaderboardWatcher", "Organizer"],
                               _total_users(participants), spawn_seconds, config.level_seconds,
                               **{**common, "env": level_env})
            used_accounts[0] += participants + sum(
                row.requests for name, row in phase.rows.items() if name.startswith(("/api/v1/auth/login",
                                                                                    "/api/v1/auth/register")))
            return phase

        journey_seconds = 21 * config.mean_think + 1.0  # 20 answers + submit; refined by the first level
        spawn = journey_seconds  # users start over one journey's length: logins do not come in one burst
        participants = config.calibration_participants
        profiler = (start_profiler(server, out / "profile-journeys", int(spawn + config.level_seconds))
                    if config.profile else None)
        calibration = run_journeys(participants, spawn)
        levels.append(calibration)
        _print_level(calibration)
        if profiler:
            print(finish_profiler(profiler, out / "profile-journeys", routes_only=True), flush=True)
        cpu_per_journey = _cpu_per_journey(calibration)
        journeys = calibration.row(JOURNEY)
        if journeys and journeys.requests and calibration.errors == 0:
            duration = journeys.avg / 1000
            # Journeys/s that would fill the CPU left to this run: all cores on a quiet machine,
            # less what other processes used during the calibration on a shared one.
            parties = sum(cpu_per_journey[k] for k in ("app", "postgres", "redis", "locust"))
            available = max(0.5, psutil.cpu_count() - calibration.cpu["other"])
            full_rate = available / parties
            last_ok = participants
            for share in config.levels:
                participants = max(participants + 1, round(share * full_rate * duration))
                level = run_journeys(participants, duration)
                levels.append(level)
                _print_level(level, f"({share:.0%} of the estimated rate {full_rate:.1f}/s on "
                                    f"{available:.1f} available cores)")
                if _ok(level):
                    last_ok = participants
                    continue
                middle = (last_ok + participants) // 2
                if last_ok < middle < participants:  # one step back, halfway, then stop
                    level = run_journeys(middle, duration)
                    levels.append(level)
                    _print_level(level, "(halfway back)")
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


def argon2_login_ms() -> float:
    """CPU of one password check at the app's default Argon2 cost (every login pays it once)."""
    from argon2 import PasswordHasher

    from app.config import Settings

    defaults = Settings(_env_file=None)
    hasher = PasswordHasher(time_cost=defaults.argon2_time_cost, memory_cost=defaults.argon2_memory_kib,
                            parallelism=1)
    stored = hasher.hash("mat-khau-thu")
    started = time.process_time()
    for _ in range(10):
        hasher.verify(stored, "mat-khau-thu")
    return (time.process_time() - started) * 100


def _server_cpu(c: dict[str, float]) -> float:
    return c["app"] + c["postgres"] + c["redis"]


def report(config: Config, results: list[WorkerResult], step_tables: list | None = None) -> str:
    cores = psutil.cpu_count()
    argon2_ms = argon2_login_ms()
    load = os.getloadavg()
    lines = [f"# make bench, {datetime.now():%Y-%m-%d %H:%M}", "",
             f"Machine: {cores} cores shared by the app, PostgreSQL, Redis and Locust (load average at the end "
             f"{load[0]:.1f}; CPU used by other processes is shown as 'other' per phase). Think time between "
             f"answers {config.think} s, compressed so that a short run sees many whole journeys; the server's "
             f"work per journey does not depend on it.", "",
             "How to read this: 'ceiling' is GET /api/v1/ping (the cheapest JSON answer of this app, same "
             "middleware and server) and 'save' the answer-save PUT, both with no think time, so their ratio is "
             "what a save costs next to doing nothing. 'journeys' levels run whole participant journeys plus "
             "leaderboard watchers and an organizer; the highest level with 0 errors and save p99 < 250 ms is "
             "shown per endpoint. CPU per journey is measured per process (app workers, PostgreSQL, Redis), so "
             "'journeys/s per core' holds even when the machine is shared.", "",
             "App: uvicorn --workers N --loop uvloop --http httptools --no-access-log; "
             + ", ".join(f"{k}={server_env(config, '')[k]}" for k in ("DB_POOL_SIZE", "DB_MAX_OVERFLOW", "DB_POOL_PRE_PING"))
             + f"; PostgreSQL {urlparse(config.database_url).path.lstrip('/')!r} and Redis {config.redis_url} on loopback.",
             ""]
    if step_tables:
        from load_tests.steps import format_tables

        lines += ["## CPU per request, step by step (one client, one request at a time)", "",
                  format_tables(step_tables), ""]
    for r in results:
        lines.append(f"## {r.workers} worker process(es)")
        lines.append("")
        lines.append("| phase | endpoint | req/s | p50 ms | p95 ms | p99 ms | errors |")
        lines.append("|---|---|---:|---:|---:|---:|---:|")
        for phase, names in ((r.ping, [PING]), (r.save, [SAVE])):
            for name in names:
                row = phase.row(name)
                lines.append(f"| {phase.label} ({phase.users} users) | {name} | {row.rps:.1f} | {row.p50:.0f} | "
                             f"{row.p95:.0f} | {row.p99:.0f} | {row.failures} |")
        shown = r.best or (r.levels[-1] if r.levels else None)
        if shown:
            for row in sorted(shown.rows.values(), key=lambda x: -x.rps):
                if row.name == "Aggregated":
                    continue
                unit = " journeys/s" if row.name == JOURNEY else ""
                lines.append(f"| {shown.label} ({shown.users} users) | {row.name} | {row.rps:.2f}{unit} | "
                             f"{row.p50:.0f} | {row.p95:.0f} | {row.p99:.0f} | {row.failures} |")
        lines.append("")
        lines.append(f"- **save / ping throughput: {r.ratio:.2f}** (target >= 0.50)")
        ping_cpu = _server_cpu(r.ping.cpu) / r.ping.row(PING).rps * 1000
        save_cpu = _server_cpu(r.save.cpu) / r.save.row(SAVE).rps * 1000
        lines.append(f"- the same ratio per server CPU second, which other load on the machine disturbs less: "
                     f"**{ping_cpu / save_cpu:.2f}**")
        lines.append(f"- server CPU per request: ping {ping_cpu:.2f} ms, save {save_cpu:.2f} ms "
                     f"(app {r.save.cpu['app'] / r.save.row(SAVE).rps * 1000:.2f}, PostgreSQL "
                     f"{r.save.cpu['postgres'] / r.save.row(SAVE).rps * 1000:.2f}, Redis "
                     f"{r.save.cpu['redis'] / r.save.row(SAVE).rps * 1000:.2f})")
        c = r.cpu_per_journey
        server = _server_cpu(c)
        lines.append(f"- CPU per participant journey: app {c['app'] * 1000:.0f} ms, PostgreSQL "
                     f"{c['postgres'] * 1000:.0f} ms, Redis {c['redis'] * 1000:.0f} ms (server {server * 1000:.0f} ms)"
                     f" -> **{1 / server:.1f} journeys/s per core**; Locust {c['locust'] * 1000:.0f} ms. Of the app's "
                     f"share, the Argon2 password check of the login is about {argon2_ms:.0f} ms (measured apart)")
        lines.append("- journey levels: " + "; ".join(
            f"{lv.users} users: {lv.row(JOURNEY).rps if lv.row(JOURNEY) else 0:.2f}/s, save p99 "
            f"{lv.row(SAVE).p99 if lv.row(SAVE) else float('nan'):.0f} ms, errors {lv.errors}, "
            f"{'ok' if _ok(lv) else 'MISSES TARGET'}" for lv in r.levels))
        if r.best:
            lines.append(f"- highest sustained level: {r.best.users} users, {r.best.row(JOURNEY).rps:.2f} journeys/s "
                         f"on this machine with Locust on the same cores")
        else:
            lines.append("- no journey level met the targets (0 errors, save p99 < 250 ms)")
        for failure in (r.best or shown).failures[:5] if shown else []:
            lines.append(f"  - ! {failure}")
        lines.append("")
    if results:
        lines += _summary(results)
    return "\n".join(lines)


def _summary(results: list[WorkerResult]) -> list[str]:
    lines = ["## What it means", ""]
    if len(results) >= 2:
        a, b = results[0], results[-1]
        lines.append(f"- {a.workers} -> {b.workers} workers: ping x{b.ping.row(PING).rps / a.ping.row(PING).rps:.2f}, "
                     f"save x{b.save.row(SAVE).rps / a.save.row(SAVE).rps:.2f}, sustained journeys "
                     f"{'x%.2f' % (_rate(b) / _rate(a)) if _rate(a) and _rate(b) else 'n/a (a worker count met no level)'}"
                     f" (with {psutil.cpu_count()} cores shared "
                     f"with Locust, PostgreSQL and Redis, 2 workers cannot double; more cores or hosts can)")
    per_core = [1 / _server_cpu(r.cpu_per_journey) for r in results]
    best_per_core = max(per_core)
    rate_needed = SEED_ROUND / (WINDOW_MINUTES * 60)
    cores_needed = rate_needed / min(per_core)
    lines.append(f"- a {SEED_ROUND:,}-participant round all taken within {WINDOW_MINUTES} minutes needs "
                 f"{rate_needed:.1f} journeys/s on average; at "
                 f"{_span(min(per_core), best_per_core)} journeys/s per "
                 f"core that is about {cores_needed:.1f} cores of app + PostgreSQL + Redis (double it for a peak "
                 f"twice the average). Each journey here includes one Argon2 login and, for 10 % of them, a "
                 f"registration.")
    sustained = [r for r in results if r.best]
    if sustained:
        best = max(sustained, key=_rate)
        minutes = SEED_ROUND / _rate(best) / 60
        lines.append(f"- this machine ({psutil.cpu_count()} cores, Locust included) sustained {_rate(best):.1f} "
                     f"journeys/s with {best.workers} worker(s): the whole {SEED_ROUND:,}-participant round would pass "
                     f"through in about {minutes:.0f} minutes.")
    lines.append("")
    return lines


def _span(low: float, high: float) -> str:
    return f"{low:.1f}" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f}-{high:.1f}"


def _rate(r: WorkerResult) -> float:
    return r.best.row(JOURNEY).rps if r.best and r.best.row(JOURNEY) else 0.0


def main() -> int:
    config = Config()
    os.chdir(ROOT)
    started = time.monotonic()
    config.out.mkdir(parents=True, exist_ok=True)
    refuse_shared_targets(config)
    ensure_postgres(config)
    fresh_database(config.database_url)
    own_redis = None if config.redis_url else OwnRedis(config.out / "redis")
    try:
        if own_redis:
            config.redis_url = own_redis.url
        secret = secrets.token_urlsafe(32)
        env = server_env(config, secret)
        subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=env, check=True)
        postmaster = _postmaster() if _is_local(config.database_url) else None
        database = urlparse(config.database_url).path.lstrip("/")
        groups = {"postgres": PgBackends(postmaster, database) if postmaster else None,
                  "redis": _redis_server(config.redis_url) if _is_local(config.redis_url) else None}
        step_tables = []
        if config.steps:
            from load_tests import steps

            step_tables = steps.run(config, secret, dict(groups))
        results = [bench_workers(config, w, secret, dict(groups)) for w in config.workers] if config.phases else []
        storm_text = ""
        if config.storm:
            from load_tests import storm

            storm_text = storm.run(config, secret)
    finally:
        if own_redis:
            own_redis.stop()
    text = report(config, results, step_tables) + ("\n" + storm_text + "\n" if storm_text else "")
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (config.out / f"results-{stamp}.md").write_text(text)
    (config.out / f"results-{stamp}.json").write_text(json.dumps([asdict(r) for r in results], indent=1, default=str))
    print("\n" + text)
    print(f"(written to {config.out}/results-{stamp}.md; took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
