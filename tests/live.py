"""A real app process (uvicorn) on a free loopback port, sharing the test database and Redis."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


async def run_app_command(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m app <args>` as an operator's shell runs it, awaited off the event loop.

    A plain subprocess.run inside an async test blocks the loop the in-process app shares with
    the test: when the app's own job worker has just begun a write (the cron sweep) and awaits
    anything, the command waits on SQLite's write lock held by a coroutine that cannot run until
    the command ends, a deadlock that ends as "database is locked" after the busy timeout."""
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "app", *args], cwd=ROOT, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server(extra_env: dict | None = None, workers: int = 1):
    port = free_port()
    env = {**os.environ, **(extra_env or {})}
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port),
               "--no-access-log", "--workers", str(workers)]
    # Output to a file, not a pipe: nobody reads a pipe while tests run, and a server whose log
    # lines fill the pipe's buffer blocks on its next write (every request logs a line).
    output = tempfile.TemporaryFile()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120  # a loaded shared machine takes ~30 s just to import the app
        while True:
            if process.poll() is not None:
                output.seek(0)
                raise RuntimeError("server exited:\n" + output.read().decode(errors="replace"))
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start in 120 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        _report_server_errors(output)
        output.close()


def _report_server_errors(output) -> None:
    """Prints the server's error lines (tracebacks) to the test's captured output, so that a
    failing test shows why the server answered 500 instead of only that it did."""
    output.seek(0)
    errors = [line for line in output.read().decode(errors="replace").splitlines()
              if '"level":"ERROR"' in line or "Traceback" in line or line.startswith(("E ", "  File"))]
    if errors:
        print("--- app server errors ---", *errors[-60:], sep="\n", file=sys.stderr)
