"""A child process a test owns, with its output in a log file: the app under uvicorn
(tests/faults/processes.py, AppProcess) and `python -m app worker` (tests/jobs/processes.py,
WorkerProcess) are both one of these, to start, kill (SIGKILL, as a crash or the OOM killer
would), signal, read and stop."""
from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.live import ROOT


class LoggedProcess:
    prefix = "ttn-process-"
    stop_grace_seconds: float = 15  # SIGTERM, then SIGKILL after this long

    def __init__(self, env: dict[str, str]):
        self.env = {**os.environ, "LOG_FORMAT": "json", **env}
        self.log_path = Path(tempfile.mkstemp(prefix=self.prefix, suffix=".log")[1])
        self.process: subprocess.Popen | None = None

    def spawn(self, command: list[str]) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful anything, no job handed back: a crash or the OOM killer."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(self.stop_grace_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log_path.unlink(missing_ok=True)
