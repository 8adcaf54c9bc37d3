"""Where the worker processes of one server keep their Prometheus metrics, so that /metrics, asked
of any worker, answers the sum of all of them (prometheus_client's multiprocess mode: each process
writes its counters to its own memory-mapped files in PROMETHEUS_MULTIPROC_DIR, and a scrape
reads them all).

The directory has to be chosen before the first metric is created (prometheus_client picks its
value class from the variable), which is why app.core.observability calls `use_multiprocess_dir`
before defining its metrics.

- One directory per server run: VAR_DIR/metrics/server-<process group>. `uvicorn --workers N`,
  gunicorn, systemd and `make run` each put a server's processes in one process group, so its
  workers share the directory, and a restarted server gets a fresh one. No supervisor hook is
  needed (uvicorn has none): every process, under a lock, removes the directories of groups that
  no longer have any process ("cleaned at start"), and its own one if every process that wrote
  there is dead (a reused group id).
- A worker that dies (crash, kill -9, restart by the supervisor) keeps its files: its counts stay
  in the sums, so counters never go down. Its live gauges are removed at the next scrape
  (`mark_dead_workers`, prometheus_client's mark_process_dead), so app_worker_processes counts
  only the living.
- PROMETHEUS_MULTIPROC_DIR set by the operator is used as it is (then cleaning it before the
  server starts is the operator's job, as prometheus_client documents); dead workers are still
  marked.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import sys
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
# Set beside ENV when we chose the directory, so that a process started by this one (a test's
# server, a CLI command) chooses its own instead of taking the inherited one for the operator's.
_CHOSEN = "THITRACNGHIEM_METRICS_DIR_CHOSEN"
_PID_IN_NAME = re.compile(r"(?:^alive-|_)(\d+)(?:\.db)?$")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except PermissionError:
        return True
    except OSError:  # no such group (or not a valid id at all)
        return False
    return True


def _pids_in(directory: Path) -> set[int]:
    pids = set()
    for path in directory.iterdir():
        found = _PID_IN_NAME.search(path.name)
        if found:
            pids.add(int(found.group(1)))
    return pids


def use_multiprocess_dir(var_dir: Path) -> Path:
    """Sets PROMETHEUS_MULTIPROC_DIR for this process (see the module's docstring); returns it."""
    given = os.environ.get(ENV)
    if given and given != os.environ.get(_CHOSEN):
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / f"alive-{os.getpid()}").touch()
    else:
        base = Path(var_dir) / "metrics"
        base.mkdir(parents=True, exist_ok=True)
        directory = base / f"server-{os.getpgid(0)}"
        with open(base / ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            for other in base.glob("server-*"):
                if other == directory:
                    if not any(_alive(pid) for pid in _pids_in(other)):
                        shutil.rmtree(other, ignore_errors=True)
                elif not _group_alive(int(other.name.removeprefix("server-"))):
                    shutil.rmtree(other, ignore_errors=True)
            directory.mkdir(exist_ok=True)
            # Says "a process of this server is alive" to the next one taking the lock, before
            # prometheus_client has written anything.
            (directory / f"alive-{os.getpid()}").touch()
        os.environ[ENV] = os.environ[_CHOSEN] = str(directory)
    values = sys.modules.get("prometheus_client.values")
    if values is not None:
        # prometheus_client was imported already (by app.core.observability, a test module's
        # parser import...): it chose its value class without the directory. Our metrics do not
        # exist yet, so choosing again is enough (prometheus_client's own tests set ValueClass so).
        setattr(values, "ValueClass", values.get_value_class())  # noqa: B010 - a module found at run time
    return directory


def mark_dead_workers(directory: Path) -> None:
    """Removes the live-gauge files of processes that are gone (their counters stay)."""
    from prometheus_client import multiprocess

    for marker in directory.glob("alive-*"):
        pid = int(marker.name.removeprefix("alive-"))
        if not _alive(pid):
            multiprocess.mark_process_dead(pid, str(directory))
            marker.rename(directory / f"dead-{pid}")
