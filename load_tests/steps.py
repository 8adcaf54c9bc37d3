"""The per-step table of `make bench`: CPU per request of every step of a participant's journey.

One client sends the requests of one step one at a time (no concurrency, so nothing queues and
the figure is the work of the request itself), and the CPU that the server's processes used
meanwhile is read from /proc/<pid>/task/*/schedstat (nanoseconds) for exactly those pids: the app's uvicorn workers, the PostgreSQL
backends serving the bench database and the bench's redis-server. The client's own CPU is not
counted, so the figures hold on a machine shared with other work (they still wobble a little:
caches, frequency scaling). Every figure is also shown as a ratio to our own /api/v1/ping and to
a bare FastAPI ping (load_tests/bare_app.py) served with the same uvicorn flags: the floor of the
stack, measured in the same run.

BENCH_BASELINE=<git ref> (e.g. main) also measures that version of the app, exported with
`git archive`, in the same run and on the same database and Redis: the before/after table.

Knobs: BENCH_STEP_REQUESTS (requests per step, default 60; the pings get 4x as many),
BENCH_STEP_WORKERS (uvicorn workers, default 2), BENCH_STEP_ROUNDS (default 2: every version is
measured that many times, alternating, and each step keeps its lowest figure, the one least
disturbed by other work on the machine).
"""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from load_tests.bench import ROOT, Config, Server, server_env
from load_tests.setup_data import LoadTestData, account_phone, register_profile

STEPS = ["bare FastAPI ping (floor)", "bare + 1 Redis GET (floor)", "bare + Redis GET + durable PG upsert (floor)",
         "our /api/v1/ping", "login (Argon2)", "register (Argon2)", "home page",
         "contest page", "open attempt", "attempt page", "resume (API)", "answer save", "submit",
         "result page", "leaderboard page", "leaderboard API"]
PING = "our /api/v1/ping"
WARMUP = 10  # per step, unmeasured: both workers' caches and pools warm


class Client:
    """A keep-alive HTTP/1.1 client, one request at a time (the server sees one connection)."""

    def __init__(self, url: str):
        host, _, port = url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None, token: str | None = None,
                expect: tuple[int, ...] = (200,)) -> tuple[int, bytes, dict]:
        headers = {"Accept": "application/json" if path.startswith("/api/") else "text/html"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        for retry in (False, True):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                payload = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
                if retry:
                    raise
        if response.status not in expect:
            raise SystemExit(f"{method} {path}: HTTP {response.status} (expected {expect}): {payload[:300]!r}")
        return response.status, payload, dict(response.getheaders())

    def close(self) -> None:
        self.conn.close()


@dataclass
class StepCost:
    requests: int
    app_ms: float
    postgres_ms: float
    redis_ms: float

    @property
    def total_ms(self) -> float:
        return self.app_ms + self.postgres_ms + self.redis_ms


@dataclass
class StepTable:
    label: str
    costs: dict[str, StepCost] = field(default_factory=dict)

    def ratio(self, step: str, to: str) -> float:
        return self.costs[step].total_ms / self.costs[to].total_ms


def _on_cpu_ns(pid: int) -> int:
    """Nanoseconds a process's threads have run (schedstat: exact, where /proc/<pid>/stat counts
    10 ms ticks, too coarse for a 0.2 ms request)."""
    total = 0
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                continue
    except OSError:
        pass
    return total


class SchedMeter:
    """CPU per party (app, postgres, redis) between start() and stop(), in milliseconds; the pids
    of each party are found the way CpuMeter finds them."""

    def __init__(self, groups: dict):
        self.groups = {k: g for k, g in groups.items() if g is not None and k in ("app", "postgres", "redis")}

    def _sample(self) -> dict[str, dict[int, int]]:
        from load_tests.bench import _measure as pids_of

        return {name: {pid: _on_cpu_ns(pid) for pid in pids_of(g)} for name, g in self.groups.items()}

    def start(self) -> None:
        self._start = self._sample()

    def stop(self) -> dict[str, float]:
        end = self._sample()
        return {name: sum(ns - self._start[name].get(pid, 0) for pid, ns in end[name].items()) / 1e6
                for name in self.groups}


def _measure(meter: SchedMeter, requests: list, send) -> StepCost:
    """CPU per request of `send(item)` over `requests`, after WARMUP unmeasured ones."""
    for item in requests[:WARMUP]:
        send(item)
    time.sleep(0.05)
    meter.start()
    for item in requests[WARMUP:]:
        send(item)
    time.sleep(0.02)  # work after the answer (a batch's cache update, the access of a pool) counts
    used = meter.stop()
    n = len(requests) - WARMUP
    return StepCost(n, used.get("app", 0) / n, used.get("postgres", 0) / n, used.get("redis", 0) / n)


def measure_steps(label: str, server: Server, data: LoadTestData, accounts: range, registrations: range,
                  groups: dict, requests: int, bare_url: str | None = None, bare_root: psutil.Process | None = None
                  ) -> StepTable:
    """The whole journey, step by step, on `server`; `accounts` are the pre-registered accounts
    this table may log in with (each opens one attempt)."""
    table = StepTable(label)
    meter = SchedMeter({"app": psutil.Process(server.process.pid), **groups})
    client = Client(server.url)
    n = requests + WARMUP
    if bare_url:
        bare = Client(bare_url)
        bare_meter = SchedMeter({"app": bare_root, **groups})
        table.costs[STEPS[0]] = _measure(bare_meter, range(4 * n), lambda _: bare.request("GET", "/api/v1/ping"))
        table.costs[STEPS[1]] = _measure(bare_meter, range(2 * n), lambda _: bare.request("GET", "/floor/redis"))
        table.costs[STEPS[2]] = _measure(bare_meter, range(2 * n), lambda k: bare.request("PUT", f"/floor/durable/{k}"))
        bare.close()
    table.costs[PING] = _measure(meter, range(4 * n), lambda _: client.request("GET", "/api/v1/ping"))

    tokens: list[str] = []

    def login(index: int):
        _, body, _ = client.request("POST", "/api/v1/auth/login", {"login": account_phone(data.first_account + index),
                                                                  "password": data.password})
        tokens.append(json.loads(body)["token"])

    table.costs[STEPS[4]] = _measure(meter, list(accounts)[:n], login)
    table.costs[STEPS[5]] = _measure(meter, list(registrations)[:n], lambda seq: client.request(
        "POST", "/api/v1/auth/register", register_profile(seq, data.password), expect=(201,)))
    table.costs[STEPS[6]] = _measure(meter, tokens, lambda t: client.request("GET", "/", token=t))
    table.costs[STEPS[7]] = _measure(meter, tokens, lambda t: client.request("GET", f"/contests/{data.contest_id}",
                                                                             token=t))
    attempts: list[tuple[str, dict]] = []

    def open_attempt(token: str):
        status, body, _ = client.request("POST", f"/api/v1/rounds/{data.round_id}/attempts", token=token,
                                         expect=(201,))
        attempts.append((token, json.loads(body)))

    table.costs[STEPS[8]] = _measure(meter, tokens, open_attempt)
    table.costs[STEPS[9]] = _measure(meter, attempts, lambda a: client.request(
        "GET", f"/attempts/{a[1]['attempt_id']}", token=a[0]))
    table.costs[STEPS[10]] = _measure(meter, attempts, lambda a: client.request(
        "GET", f"/api/v1/attempts/{a[1]['attempt_id']}", token=a[0]))

    def save(a):
        question = a[1]["questions"][0]
        client.request("PUT", f"/api/v1/attempts/{a[1]['attempt_id']}/answers/{question['id']}",
                       {"option_id": question["options"][0]["id"]}, token=a[0])

    table.costs[STEPS[11]] = _measure(meter, attempts, save)
    table.costs[STEPS[12]] = _measure(meter, attempts, lambda a: client.request(
        "POST", f"/api/v1/attempts/{a[1]['attempt_id']}/submit", {"prediction": 7}, token=a[0]))
    table.costs[STEPS[13]] = _measure(meter, attempts, lambda a: client.request(
        "GET", f"/attempts/{a[1]['attempt_id']}/result", token=a[0]))
    table.costs[STEPS[14]] = _measure(meter, tokens, lambda t: client.request(
        "GET", f"/rounds/{data.round_id}/leaderboard", token=t))
    table.costs[STEPS[15]] = _measure(meter, tokens, lambda t: client.request(
        "GET", f"/api/v1/rounds/{data.round_id}/leaderboard", token=t))
    client.close()
    return table


def baseline_tree(ref: str, out: Path) -> Path:
    """The app as it is at `ref`, exported (not checked out: the working tree is left alone)."""
    target = out / f"baseline-{ref.replace('/', '_')}"
    if target.exists():
        subprocess.run(["rm", "-rf", str(target)], check=True)
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", ref, "app", "migrations", "alembic.ini"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target


def run(config: Config, secret: str, groups: dict) -> list[StepTable]:
    requests = int(os.environ.get("BENCH_STEP_REQUESTS") or 60)
    workers = int(os.environ.get("BENCH_STEP_WORKERS") or 2)
    baseline = os.environ.get("BENCH_BASELINE", "")
    out = config.out / "steps"
    out.mkdir(parents=True, exist_ok=True)
    env = server_env(config, secret)
    # One request at a time is no rush: the waiting room's script runs (its cost is measured) but
    # the adaptive signals are off, or a machine shared with other work (event-loop lag, slow
    # saves) could tell the open step to wait. Its tests and the storm bench cover them.
    env.setdefault("ADMIT_LAG_BOUND_MS", "0")
    env.setdefault("ADMIT_SAVE_BOUND_MS", "0")
    rounds = int(os.environ.get("BENCH_STEP_ROUNDS") or 2)
    per_table = requests + WARMUP
    versions = [(f"before ({baseline})", baseline_tree(baseline, out)), ("now", ROOT)] if baseline else [("now", ROOT)]
    versions = versions * rounds  # alternated; each step keeps its lowest figure (the least disturbed)
    data_file = out / "steps.json"
    print(f"\n== per-step CPU table ({workers} workers, {requests} requests per step, one at a time)", flush=True)
    subprocess.run([sys.executable, "-m", "load_tests.setup_data", "--users", str(per_table * len(versions)),
                    "--sessions", "0", "--out", str(data_file)], cwd=ROOT, env=env, check=True)
    data = LoadTestData.load(data_file)
    bare = Server(workers, env, out / "bare.log", app="load_tests.bare_app:app")
    tables: dict[str, StepTable] = {}
    try:
        for i, (label, root) in enumerate(versions):
            version_env = {**env, "PYTHONPATH": str(root)}
            if root != ROOT:
                # A baseline from before the idle rule (an open at a process with nothing in flight
                # goes straight in) queued one-at-a-time opens once they outran its slow start: a
                # burst no step reaches lets it be measured at all, every admission script still run.
                version_env.setdefault("ADMIT_OPENS_BURST", "100000")
            server = Server(workers, version_env, out / f"server-{i}.log", cwd=root)
            profiler = None
            if config.profile and root == ROOT and not any(t.label == label for t in tables.values()):
                from load_tests.bench import start_profiler

                profiler = start_profiler(server, out / "profile-steps", 60)
            try:
                accounts = range(i * per_table, (i + 1) * per_table)
                registrations = range(int(time.time()) * 100 + i * per_table, int(time.time()) * 100 + (i + 1) * per_table)
                table = measure_steps(label, server, data, accounts, registrations, groups, requests, bare.url,
                                      psutil.Process(bare.process.pid))
            finally:
                if profiler:
                    from load_tests.bench import finish_profiler

                    profiler.send_signal(2)  # SIGINT: py-spy writes what it sampled
                    print(finish_profiler(profiler, out / "profile-steps", top=70), flush=True)
                server.stop()
            print(format_tables([table]), flush=True)
            kept = tables.setdefault(label, table)
            for step, cost in table.costs.items():
                if cost.total_ms < kept.costs[step].total_ms:
                    kept.costs[step] = cost
    finally:
        bare.stop()
    return list(tables.values())


def format_tables(tables: list[StepTable]) -> str:
    """One markdown table; with two (before, now) the columns sit side by side."""
    head = "| step |"
    rule = "|---|"
    for t in tables:
        head += f" {t.label}: CPU ms/request (app+PG+Redis) | × our ping | × bare floor |"
        rule += "---:|---:|---:|"
    lines = [head, rule]
    for step in STEPS:
        row = f"| {step} |"
        for t in tables:
            c = t.costs.get(step)
            if c is None:
                row += " | | |"
                continue
            detail = f"{c.total_ms:.2f} ({c.app_ms:.2f}+{c.postgres_ms:.2f}+{c.redis_ms:.2f})"
            bare = t.ratio(step, STEPS[0]) if STEPS[0] in t.costs else float("nan")
            row += f" {detail} | {t.ratio(step, PING):.2f} | {bare:.2f} |"
        lines.append(row)
    load = os.getloadavg()
    lines.append("")
    lines.append(f"(load average {load[0]:.1f} / {load[1]:.1f} on {psutil.cpu_count()} cores when printed)")
    return "\n".join(lines)
