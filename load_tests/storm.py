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

Each phase runs once per layout (BENCH_STORM_LAYOUTS, default "single,lanes"), with participants
of its own: "single" is one pool of BENCH_STEP_WORKERS uvicorn workers, "lanes" the two lanes of
app/core/lanes.py (that many workers each, the public lane at nice 10) behind HAProxy with the
configuration `python -m app balancer-config` writes.

The insiders' client runs in a process of its own, so their timings do not include the stormers'
client work. The stormers' client is one asyncio process (uvloop, load_tests/rawhttp.py) on the same cores as the server, so K is bounded by
what one Python process can keep in flight, by the 2 cores it shares, and by HAProxy's
connection limit in the lanes layout (9,000: two open files each, under the 20,000 allowed): say so with the figures.
The server: uvicorn with BENCH_STEP_WORKERS (2) workers in the production configuration, on the
bench's own PostgreSQL database and redis-server (load_tests/bench.py).
"""
from __future__ import annotations

import asyncio
import dataclasses
import multiprocessing
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field

import psutil

from app.core.lanes import PUBLIC_LANE_NICE
from load_tests import rawhttp
from load_tests.bench import ROOT, Config, LanedServer, Server, argon2_login_ms, server_env
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
    timed_errors: list[tuple[float, str]] = field(default_factory=list)

    def error(self, what: str) -> None:
        self.errors.append(what)
        self.timed_errors.append((time.monotonic(), what))

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
        except TimeoutError:
            pass
        ms = await save_one(http, tally, token, attempt, i)
        if ms is not None:
            tally.saves.append((time.monotonic(), ms))
        i += 1


def _insiders_process(base: str, tokens: list[str], round_id: int, think: tuple[float, float], ready, stop,
                      results) -> None:
    """The insiders' client, in a process of its own: in the stormers' event loop their timings
    would include the client's own delay in handling thousands of responses (CLOCK_MONOTONIC is
    the same clock in every process, so the windows still line up)."""
    async def main():
        async with rawhttp.Client(base, timeout=30) as http:
            tally = Tally()
            # They get in first (through the waiting room like anyone else), then keep saving.
            attempts = await asyncio.gather(*(enter(http, tally, t, round_id) for t in tokens))
            ready.put(sum(1 for a in attempts if a))
            done = asyncio.Event()
            background = [asyncio.create_task(insider(http, tally, t, a, think, done))
                          for t, a in zip(tokens, attempts) if a]
            await asyncio.to_thread(stop.wait)
            done.set()
            await asyncio.gather(*background)
            return tally.saves, tally.timed_errors

    results.put(_run(main()))


async def _phases(base: str, data: LoadTestData, k: int, insiders: int, spread: float, think: tuple[float, float],
                  burst_rate: float, burst_seconds: float, login_offset: int = 0) -> dict:
    tokens = data.session_tokens
    inside_tokens, storm_tokens = tokens[:insiders], tokens[insiders:insiders + k]
    context = multiprocessing.get_context("spawn")
    ready, results, stop = context.Queue(), context.Queue(), context.Event()
    inside = context.Process(target=_insiders_process, args=(base, inside_tokens, data.round_id, think, ready, stop,
                                                             results), daemon=True)
    inside.start()
    await asyncio.to_thread(ready.get, True, 300)
    await asyncio.sleep(max(think) + 1)  # steady state before the storm
    calm_from = time.monotonic() - max(think)
    # Idle connections are dropped before uvicorn drops them (its keep-alive is 5 s): reusing one the
    # server is closing at that instant would count as a reset connection the server did not cause.
    async with rawhttp.Client(base, timeout=30) as http:
        tally = Tally()
        open_ms: list[float] = []
        in_at: list[float] = []
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
        storm_errors = len(tally.errors)

        # The login burst: at 3x hashing capacity, the insiders still saving. Each person told to
        # wait (429) presses again after its Retry-After, as on the form, for up to a minute.
        outcomes = {"200": 0, "429": 0, "other": 0, "gave up": 0}
        login_s: list[float] = []
        b0 = time.monotonic()

        async def login(index: int):
            started = time.monotonic()
            while True:
                response = await _request(http, tally, "POST", "/api/v1/auth/login",
                                          json={"login": account_phone(data.first_account + index),
                                                "password": data.password})
                if response is None or response.status_code >= 500:
                    return
                if response.status_code == 429:
                    outcomes["429"] += 1
                    wait = float(response.headers.get("retry-after", "1"))
                    if time.monotonic() + wait - started > 60:
                        outcomes["gave up"] += 1
                        return
                    await asyncio.sleep(wait)
                    continue
                key = "200" if response.status_code == 200 else "other"
                outcomes[key] += 1
                if key == "other":
                    tally.error(f"login: HTTP {response.status_code} {response.text[:120]}")
                else:
                    login_s.append(time.monotonic() - started)
                return

        logins = []
        for i in range(int(burst_rate * burst_seconds)):
            logins.append(asyncio.create_task(login((login_offset + i) % max(1, data.accounts))))
            await asyncio.sleep(max(0.0, b0 + (i + 1) / burst_rate - time.monotonic()))
        await asyncio.gather(*logins)
        b_end = time.monotonic()
    stop.set()
    saves, inside_errors = await asyncio.to_thread(results.get, True, 120)
    inside.join(30)
    everyone = Tally(saves=saves)

    def inside_errors_between(start: float, end: float) -> list[str]:
        return [what for when, what in inside_errors if start <= when <= end]

    storm = dict(k=k, in_count=len(in_at), drain_s=max(in_at) if in_at else float("nan"),
                 open_p50=_pct(open_ms, .5), open_p99=_pct(open_ms, .99), open_requests=len(open_ms),
                 wait_p50=_pct(waits, .5) * 1000, wait_p99=_pct(waits, .99) * 1000,
                 saves=everyone.saves_between(t0, t_end),
                 errors=tally.errors[:storm_errors] + inside_errors_between(t0, t_end),
                 calm=everyone.saves_between(calm_from, t0), worst_window=_worst_window_p99(saves, t0, t_end))
    burst = dict(rate=burst_rate, seconds=b_end - b0, outcomes=outcomes, login_p50=_pct(login_s, .5),
                 login_p99=_pct(login_s, .99), saves=everyone.saves_between(b0, b_end),
                 errors=tally.errors[storm_errors:] + inside_errors_between(b0, b_end),
                 worst_window=_worst_window_p99(saves, b0, b_end))
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
    # Each layout gets participants of its own (someone already in the round would only be handed
    # back their attempt): "single" = one pool of workers, "lanes" = app/core/lanes.py behind HAProxy.
    layouts = [x for x in (os.environ.get("BENCH_STORM_LAYOUTS") or "single,lanes").split(",") if x]
    sessions = capacity_n + len(layouts) * (k + insiders)
    subprocess.run([sys.executable, "-m", "load_tests.setup_data", "--users", str(max(5000, sessions)),
                    "--sessions", str(sessions), "--out", str(data_file)], cwd=ROOT, env=env, check=True)
    data = LoadTestData.load(data_file)
    # The open capacity, measured first on a server without the waiting room (and nobody else
    # on it), with participants of their own: the drain target is K over this.
    capacity_server = Server(workers, {**env, "ADMIT_OPENS_PER_SECOND": "0"}, out / "capacity-server.log")
    try:
        capacity = _run(_capacity(capacity_server.url, data.session_tokens[:capacity_n], data.round_id,
                                         2 * workers))
    finally:
        capacity_server.stop()
    from app.config import Settings

    settings = Settings(_env_file=None, **{})
    rate = float(env.get("ADMIT_OPENS_PER_SECOND") or settings.admit_opens_per_second)
    threads = int(env.get("PASSWORD_HASH_THREADS") or settings.password_hash_threads)
    hash_ms = argon2_login_ms()
    hashing_capacity = workers * threads * 1000 / hash_ms
    target_drain = 1.2 * k / min(rate, capacity["per_second"])
    lines = [
        f"## Open capacity: {capacity['opened']} opens + first saves by {2 * workers} clients without a waiting "
        f"room in {capacity['seconds']:.1f} s -> **{capacity['per_second']:.1f} opens/s** "
        f"(errors: {len(capacity['errors'])})", ""]
    for n, layout in enumerate(layouts):
        first = capacity_n + n * (k + insiders)
        own = dataclasses.replace(data, session_tokens=data.session_tokens[first:first + k + insiders])
        if layout == "lanes":
            server: Server | LanedServer = LanedServer(workers, env, out / "lanes.log")
            where = (f"two lanes (app/core/lanes.py) behind HAProxy: {workers} inside-lane workers, {workers} "
                     f"public-lane workers at nice {PUBLIC_LANE_NICE}")
        else:
            server = Server(workers, env, out / "server.log")
            where = f"one pool of {workers} workers"
        load_before = os.getloadavg()[0]
        client = psutil.Process()
        cpu0 = client.cpu_times()
        try:
            result = _run(_phases(server.url, own, k, insiders, spread, think, 3 * hashing_capacity, burst_seconds,
                                  # accounts of its own per layout: the per-account login limit
                                  login_offset=n * int(3 * hashing_capacity * burst_seconds + 1)))
        finally:
            server.stop()
        cpu1 = client.cpu_times()
        lines += _report(layout, where, result, k, insiders, spread, think, rate, target_drain, env, settings,
                         hashing_capacity, workers, threads, hash_ms, load_before, cpu1.user + cpu1.system
                         - cpu0.user - cpu0.system)
    return "\n".join(lines)


def _report(layout, where, result, k, insiders, spread, think, rate, target_drain, env, settings, hashing_capacity,
            workers, threads, hash_ms, load_before, client_cpu) -> list[str]:
    s, b = result["storm"], result["burst"]
    in_flight = env.get("ADMIT_OPENS_IN_FLIGHT") or settings.admit_opens_in_flight
    lag_bound = env.get("ADMIT_LAG_BOUND_MS") or settings.admit_lag_bound_ms
    lines = [
        f"## The storm ({layout}: {where}): {k:,} press start within {spread:g} s, {insiders} already inside save every "
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
        f"## Login burst ({layout}): {b['rate']:.0f} logins/s (3x the hashing capacity {hashing_capacity:.0f}/s: {workers} "
        f"workers x {threads} thread(s), one Argon2 check {hash_ms:.0f} ms) for {b['seconds']:.1f} s", "",
        f"- logins (each pressing again after Retry-After, for up to 60 s): {b['outcomes']['200']} in "
        f"(time to get in p50 {b['login_p50']:.1f} s, p99 {b['login_p99']:.1f} s), {b['outcomes']['429']} "
        f"'wait' answers (429), {b['outcomes']['gave up']} gave up, {b['outcomes']['other']} other",
        f"- insiders' saves meanwhile ({len(b['saves'])}): p50 {_pct(b['saves'], .5):.0f} ms, "
        f"**p99 {_pct(b['saves'], .99):.0f} ms**, worst 2 s window p99 {b['worst_window']:.0f} ms",
        f"- errors: **{len(b['errors'])}** {_summarize(b['errors'])}", "",
        f"(load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after, on {psutil.cpu_count()} cores; the "
        f"client itself used {client_cpu:.0f} CPU s on the same cores)", "",
    ]
    return lines


def _summarize(errors: list[str]) -> str:
    counts: dict[str, int] = {}
    for e in errors:
        counts[e] = counts.get(e, 0) + 1
    return "; ".join(f"{n}x {e}" for e, n in sorted(counts.items(), key=lambda kv: -kv[1])[:4])
