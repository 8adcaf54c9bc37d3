"""`make bench-storm`: the round-opening rush and the login burst (README, "Load testing").

1. storm: K logged-in participants press "Bắt đầu thi" within one second (BENCH_STORM_K, default
   5,000; BENCH_STORM_SPREAD seconds, default 1), each then saves one answer, while
   BENCH_STORM_INSIDERS (200) others already inside an attempt keep saving with think time
   (BENCH_STORM_THINK, default "1,3" s). A participant told to wait (429 from the waiting room)
   comes back after its Retry-After, as the waiting page does. Reported: time until the last one
   is in (drain), opens/s, p50/p99 of the open requests and of the time to get in, p50/p99 of the
   insiders' saves during the storm, and errors (5xx, refused or reset connections, time-outs).
   Target: 0 errors, insiders' save p99 < 250 ms, drain within 1.2x K / the open capacity, measured
   first on a server without the waiting room (BENCH_STORM_CAPACITY_N participants, default 200,
   2 per worker at a time) or the ADMIT_OPENS_PER_SECOND ceiling if lower.
2. login burst: logins at 3x the password-hashing capacity (workers x PASSWORD_HASH_THREADS /
   one hash's time, measured apart) for BENCH_BURST_SECONDS (5) while the insiders keep saving.
   Reported: logins answered 200 / 429 (told to retry) / errors, and the insiders' save p99.

The client is one asyncio process (uvloop, load_tests/rawhttp.py) on the same cores as the server, so K is bounded by
what one Python process can keep in flight and by the 2 cores it shares: say so with the figures.
The server: uvicorn with BENCH_STEP_WORKERS (2) workers in the production configuration, on the
bench's own PostgreSQL database and redis-server (load_tests/bench.py).
"""
from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

from load_tests import rawhttp
from load_tests.bench import ROOT, Config, Server, argon2_login_ms, server_env
from load_tests.setup_data import LoadTestData, account_phone

P99_TARGET_MS = 250.0


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Tally:
    errors: list[str] = field(default_factory=list)
    saves: list[tuple[float, float]] = field(default_factory=list)  # (when, ms) of the insiders' saves

    def error(self, what: str) -> None:
        self.errors.append(what)

    def saves_between(self, start: float, end: float) -> list[float]:
        return [ms for when, ms in self.saves if start <= when <= end]


async def _request(http: rawhttp.Client, tally: Tally, method: str, url: str, **kwargs) -> rawhttp.Response | None:
    try:
        response = await http.request(method, url, **kwargs)
    except rawhttp.HTTPError as exc:
        tally.error(f"{method} {url.split('/')[3] if url.count('/') > 3 else url}: {exc}")
        return None
    if response.status_code >= 500:
        tally.error(f"{method} {url}: HTTP {response.status_code}")
    return response


async def enter(http, tally: Tally, token: str, round_id: int, open_ms: list[float] | None = None) -> dict | None:
    """Presses start until let in, coming back after each Retry-After (as the waiting page does)."""
    headers = {"Authorization": f"Bearer {token}"}
    while True:
        started = time.perf_counter()
        response = await _request(http, tally, "POST", f"/api/v1/rounds/{round_id}/attempts", headers=headers)
        if open_ms is not None:
            open_ms.append((time.perf_counter() - started) * 1000)
        if response is None or response.status_code >= 500:
            return None
        if response.status_code in (200, 201):
            return response.json()
        if response.status_code != 429:
            tally.error(f"open: HTTP {response.status_code} {response.text[:120]}")
            return None
        await asyncio.sleep(float(response.headers.get("retry-after", "1")))


async def save_one(http, tally: Tally, token: str, attempt: dict, index: int) -> float | None:
    question = attempt["questions"][index % len(attempt["questions"])]
    started = time.perf_counter()
    response = await _request(http, tally, "PUT", f"/api/v1/attempts/{attempt['attempt_id']}/answers/{question['id']}",
                              json={"option_id": random.choice(question["options"])["id"]},
                              headers={"Authorization": f"Bearer {token}"})
    if response is None:
        return None
    if response.status_code != 200:
        tally.error(f"save: HTTP {response.status_code} {response.text[:120]}")
        return None
    return (time.perf_counter() - started) * 1000


async def insider(http, tally: Tally, token: str, attempt: dict, think: tuple[float, float], stop: asyncio.Event):
    i = 0
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), random.uniform(*think))
            return
        except asyncio.TimeoutError:
            pass
        ms = await save_one(http, tally, token, attempt, i)
        if ms is not None:
            tally.saves.append((time.monotonic(), ms))
        i += 1


async def _phases(base: str, data: LoadTestData, k: int, insiders: int, spread: float, think: tuple[float, float],
                  burst_rate: float, burst_seconds: float) -> dict:
    tokens = data.session_tokens
    inside_tokens, storm_tokens = tokens[:insiders], tokens[insiders:insiders + k]
    # Idle connections are dropped before uvicorn drops them (its keep-alive is 5 s): reusing one the
    # server is closing at that instant would count as a reset connection the server did not cause.
    async with rawhttp.Client(base, timeout=30) as http:
        tally = Tally()
        # The insiders get in first (through the waiting room like anyone else), then keep saving.
        attempts = await asyncio.gather(*(enter(http, tally, t, data.round_id) for t in inside_tokens))
        stop = asyncio.Event()
        background = [asyncio.create_task(insider(http, tally, t, a, think, stop))
                      for t, a in zip(inside_tokens, attempts) if a]
        await asyncio.sleep(max(think) + 1)  # steady state before the storm
        calm = list(_saves_since(tally, time.monotonic() - max(think)))

        open_ms: list[float] = []
        in_at: list[float] = []
        storm_errors_before = len(tally.errors)
        t0 = time.monotonic()

        async def stormer(token: str):
            await asyncio.sleep(random.uniform(0, spread))
            pressed = time.monotonic()
            attempt = await enter(http, tally, token, data.round_id, open_ms)
            if attempt is None:
                return None
            admitted = time.monotonic()
            in_at.append(admitted - t0)
            await save_one(http, tally, token, attempt, 0)
            return admitted - pressed

        waits = [w for w in await asyncio.gather(*(stormer(t) for t in storm_tokens)) if w is not None]
        t_end = time.monotonic()
        storm = dict(k=k, in_count=len(in_at), drain_s=max(in_at) if in_at else float("nan"),
                     open_p50=_pct(open_ms, .5), open_p99=_pct(open_ms, .99), open_requests=len(open_ms),
                     wait_p50=_pct(waits, .5) * 1000, wait_p99=_pct(waits, .99) * 1000,
                     saves=tally.saves_between(t0, t_end), errors=tally.errors[storm_errors_before:], calm=calm,
                     worst_window=_worst_window_p99(tally.saves, t0, t_end))

        # The login burst: at 3x hashing capacity, the insiders still saving.
        outcomes = {"200": 0, "429": 0, "other": 0}
        burst_errors_before = len(tally.errors)
        b0 = time.monotonic()

        async def login(index: int):
            response = await _request(http, tally, "POST", "/api/v1/auth/login",
                                      json={"login": account_phone(data.first_account + index),
                                            "password": data.password})
            if response is None or response.status_code >= 500:
                return
            key = str(response.status_code) if response.status_code in (200, 429) else "other"
            outcomes[key] += 1
            if key == "other":
                tally.error(f"login: HTTP {response.status_code} {response.text[:120]}")

        logins = []
        for i in range(int(burst_rate * burst_seconds)):
            logins.append(asyncio.create_task(login(i % max(1, data.accounts))))
            await asyncio.sleep(max(0.0, b0 + (i + 1) / burst_rate - time.monotonic()))
        await asyncio.gather(*logins)
        b_end = time.monotonic()
        burst = dict(rate=burst_rate, seconds=b_end - b0, outcomes=outcomes, saves=tally.saves_between(b0, b_end),
                     errors=tally.errors[burst_errors_before:], worst_window=_worst_window_p99(tally.saves, b0, b_end))
        stop.set()
        await asyncio.gather(*background)
    return {"storm": storm, "burst": burst}


async def _capacity(base: str, tokens: list[str], round_id: int, concurrency: int) -> dict:
    """What the server can open with nobody waiting: `concurrency` clients, each pressing start
    and saving one answer, then the next participant, as fast as answered (no waiting room)."""
    tally = Tally()
    pending = list(tokens)
    async with rawhttp.Client(base, timeout=30) as http:
        async def client():
            done = 0
            while pending:
                token = pending.pop()
                attempt = await enter(http, tally, token, round_id)
                if attempt is not None:
                    await save_one(http, tally, token, attempt, 0)
                    done += 1
            return done

        t0 = time.monotonic()
        done = sum(await asyncio.gather(*(client() for _ in range(concurrency))))
        elapsed = time.monotonic() - t0
    return dict(opened=done, seconds=elapsed, per_second=done / elapsed if elapsed else float("nan"),
                errors=tally.errors)


def _worst_window_p99(saves: list[tuple[float, float]], start: float, end: float, width: float = 2.0) -> float:
    """The insiders' save p99 in the worst `width`-second window between start and end
    ("throughout", not just over the whole storm)."""
    worst = float("nan")
    t = start
    while t < end:
        window = [ms for when, ms in saves if t <= when < t + width]
        if len(window) >= 5:
            p99 = _pct(window, .99)
            worst = p99 if worst != worst or p99 > worst else worst
        t += width / 2
    return worst


def _run(coroutine):
    import uvloop  # the server's own loop: a faster client leaves more of the shared cores to the server

    return uvloop.run(coroutine)


def _saves_since(tally: Tally, since: float):
    return (ms for when, ms in tally.saves if when >= since)


def run(config: Config, secret: str) -> str:
    k = int(os.environ.get("BENCH_STORM_K") or 5000)
    insiders = int(os.environ.get("BENCH_STORM_INSIDERS") or 200)
    spread = float(os.environ.get("BENCH_STORM_SPREAD") or 1)
    low, _, high = (os.environ.get("BENCH_STORM_THINK") or "1,3").partition(",")
    think = (float(low), float(high or low))
    workers = int(os.environ.get("BENCH_STEP_WORKERS") or 2)
    burst_seconds = float(os.environ.get("BENCH_BURST_SECONDS") or 5)
    env = server_env(config, secret)
    out = config.out / "storm"
    out.mkdir(parents=True, exist_ok=True)
    data_file = out / "storm.json"
    capacity_n = int(os.environ.get("BENCH_STORM_CAPACITY_N") or 200)
    subprocess.run([sys.executable, "-m", "load_tests.setup_data", "--users", "5000", "--sessions",
                    str(k + insiders + capacity_n), "--out", str(data_file)], cwd=ROOT, env=env, check=True)
    data = LoadTestData.load(data_file)
    # The open capacity, measured first on a server without the waiting room (and nobody else
    # on it), with participants of their own: the drain target is K over this.
    capacity_server = Server(workers, {**env, "ADMIT_OPENS_PER_SECOND": "0"}, out / "capacity-server.log")
    try:
        capacity = _run(_capacity(capacity_server.url, data.session_tokens[k + insiders:], data.round_id,
                                         2 * workers))
    finally:
        capacity_server.stop()
    from app.config import Settings

    settings = Settings(_env_file=None, **{})
    rate = float(env.get("ADMIT_OPENS_PER_SECOND") or settings.admit_opens_per_second)
    threads = int(env.get("PASSWORD_HASH_THREADS") or settings.password_hash_threads)
    hash_ms = argon2_login_ms()
    hashing_capacity = workers * threads * 1000 / hash_ms
    server = Server(workers, env, out / "server.log")
    load_before = os.getloadavg()[0]
    client = psutil.Process()
    cpu0 = client.cpu_times()
    try:
        result = _run(_phases(server.url, data, k, insiders, spread, think, 3 * hashing_capacity,
                                     burst_seconds))
    finally:
        server.stop()
    cpu1 = client.cpu_times()
    s, b = result["storm"], result["burst"]
    target_drain = 1.2 * k / min(rate, capacity["per_second"])
    in_flight = env.get("ADMIT_OPENS_IN_FLIGHT") or settings.admit_opens_in_flight
    lag_bound = env.get("ADMIT_LAG_BOUND_MS") or settings.admit_lag_bound_ms
    lines = [
        f"## Open capacity: {capacity['opened']} opens + first saves by {2 * workers} clients without a waiting "
        f"room in {capacity['seconds']:.1f} s -> **{capacity['per_second']:.1f} opens/s** "
        f"(errors: {len(capacity['errors'])})", "",
        f"## The storm: {k:,} press start within {spread:g} s, {insiders} already inside save every "
        f"{think[0]:g}-{think[1]:g} s ({workers} workers, ADMIT_OPENS_PER_SECOND={rate:g} as the ceiling, "
        f"ADMIT_OPENS_IN_FLIGHT={in_flight}, ADMIT_LAG_BOUND_MS={lag_bound})", "",
        f"- in: {s['in_count']:,} of {k:,}; the last one in after **{s['drain_s']:.1f} s** "
        f"(target <= 1.2 x K / min(ceiling, capacity) = {target_drain:.1f} s) -> "
        f"{s['in_count'] / s['drain_s']:.1f} opens/s",
        f"- open requests (incl. 429 'wait' answers, {s['open_requests']:,}): p50 {s['open_p50']:.0f} ms, "
        f"p99 {s['open_p99']:.0f} ms; time from pressing start to being in: p50 {s['wait_p50']:.0f} ms, "
        f"p99 {s['wait_p99']:.0f} ms",
        f"- insiders' saves during the storm ({len(s['saves'])}): p50 {_pct(s['saves'], .5):.0f} ms, "
        f"**p99 {_pct(s['saves'], .99):.0f} ms**, worst 2 s window p99 {s['worst_window']:.0f} ms "
        f"(before it: p99 {_pct(s['calm'], .99):.0f} ms)",
        f"- errors: **{len(s['errors'])}** {_summarize(s['errors'])}", "",
        f"## Login burst: {b['rate']:.0f} logins/s (3x the hashing capacity {hashing_capacity:.0f}/s: {workers} "
        f"workers x {threads} thread(s), one Argon2 check {hash_ms:.0f} ms) for {b['seconds']:.1f} s", "",
        f"- logins: {b['outcomes']['200']} in, {b['outcomes']['429']} told to retry (429), "
        f"{b['outcomes']['other']} other",
        f"- insiders' saves meanwhile ({len(b['saves'])}): p50 {_pct(b['saves'], .5):.0f} ms, "
        f"**p99 {_pct(b['saves'], .99):.0f} ms**, worst 2 s window p99 {b['worst_window']:.0f} ms",
        f"- errors: **{len(b['errors'])}** {_summarize(b['errors'])}", "",
        f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {psutil.cpu_count()} cores; the "
        f"client itself used {cpu1.user + cpu1.system - cpu0.user - cpu0.system:.0f} CPU s on the same cores)",
    ]
    return "\n".join(lines)


def _summarize(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for e in errors:
        counts[e] = counts.get(e, 0) + 1
    return "; ".join(f"{n}x {e}" for e, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
