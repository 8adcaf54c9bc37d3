"""/metrics of a server with several worker processes answers the sum of all of them (issue 17,
item 7): a real `uvicorn --workers 2`, requests spread over both, one worker killed -9 and
replaced by uvicorn, and the counts still add up."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.faults.processes import AppProcess

pytestmark = pytest.mark.slow
PING = "/api/v1/ping"


def scrape(base: str) -> dict[tuple, float]:
    text = httpx.get(base + "/metrics", timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def pings(found: dict) -> float:
    return found.get(("http_requests_total", (("method", "GET"), ("route", PING), ("status", "200"))), 0.0)


def pings_per_process(directory: Path, tmp: Path) -> dict[int, float]:
    """Each process's own count, read from its own file alone."""
    counts = {}
    for file in directory.glob("counter_*.db"):
        alone = tmp / file.stem
        alone.mkdir(parents=True)
        shutil.copy(file, alone / file.name)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(alone))
        counts[int(file.stem.split("_")[1])] = sum(
            s.value for m in registry.collect() for s in m.samples
            if s.name == "http_requests_total" and s.labels.get("route") == PING)
    return counts


def worker_pids(supervisor: int) -> set[int]:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    # uvicorn's workers are the children that run the app (multiprocessing also starts a helper).
    return {int(pid) for pid in children if "multiprocessing.resource_tracker" not in
            Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")}


async def send_pings(base: str, count: int) -> None:
    # A new connection each time, so the kernel hands them to both workers.
    for _ in range(count):
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            assert (await http.get(PING)).status_code == 200


def live_workers(base: str) -> float:
    return scrape(base).get(("app_worker_processes", ()), 0)


async def wait_for(predicate, what: str, seconds: float = 150) -> None:
    # Generous: at load 20 on the shared 2 cores importing the app alone takes ~30 s.
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")
        await asyncio.sleep(0.5)


async def test_metrics_sum_the_workers_of_a_server_and_keep_a_killed_workers_counts(settings, tmp_path):
    var_dir = tmp_path / "host"  # this "host's" own VAR_DIR: its metrics files go under it
    process = AppProcess({"VAR_DIR": str(var_dir), "DATABASE_URL": settings.effective_database_url,
                          "PROMETHEUS_MULTIPROC_DIR": ""}, workers=2)
    process.start(timeout=150)
    try:
        supervisor = process.process.pid
        await wait_for(lambda: len(worker_pids(supervisor)) == 2, "two workers")
        await wait_for(lambda: live_workers(process.base) == 2, "both workers up")
        [directory] = (var_dir / "metrics").glob("server-*")

        sent = 0
        while True:  # until both workers have answered some (the kernel decides who accepts)
            await send_pings(process.base, 20)
            sent += 20
            per_process = pings_per_process(directory, tmp_path / f"round-{sent}")
            if sum(1 for n in per_process.values() if n > 0) >= 2 or sent >= 400:
                break
        assert sum(1 for n in per_process.values() if n > 0) >= 2, per_process
        assert sum(per_process.values()) == sent
        assert pings(scrape(process.base)) == sent  # whichever worker answers the scrape

        # A worker killed -9 (no clean-up at all): uvicorn starts another; the dead one's counts
        # stay in the sum, and it no longer counts as a live worker.
        victim = max(per_process, key=per_process.get)
        os.kill(victim, signal.SIGKILL)
        await wait_for(lambda: victim not in worker_pids(supervisor) and len(worker_pids(supervisor)) == 2,
                       "uvicorn to replace the killed worker")
        await wait_for(lambda: live_workers(process.base) == 2,
                       lambda: f"the new worker to count and the dead one not to (now {live_workers(process.base)})")
        await send_pings(process.base, 10)
        for _ in range(4):  # any worker may answer: each gives the same sum
            assert pings(scrape(process.base)) == sent + 10
        assert (directory / f"dead-{victim}").exists()
    finally:
        process.stop()


async def test_a_new_server_starts_with_fresh_metrics_and_removes_stale_ones(settings, tmp_path):
    var_dir = tmp_path / "host"
    stale = var_dir / "metrics" / "server-999999999"  # a process group that no longer exists
    stale.mkdir(parents=True)
    (stale / "counter_123.db").write_bytes(b"\0" * 16)
    env = {"VAR_DIR": str(var_dir), "DATABASE_URL": settings.effective_database_url, "PROMETHEUS_MULTIPROC_DIR": ""}
    first = AppProcess(env)
    first.start(timeout=150)
    try:
        await send_pings(first.base, 3)
        assert pings(scrape(first.base)) == 3
        assert not stale.exists()
    finally:
        first.stop()
    second = AppProcess(env)
    second.start(timeout=150)
    try:
        assert pings(scrape(second.base)) == 0  # counts of the last run are not carried over
    finally:
        second.stop()
