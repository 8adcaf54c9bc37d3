"""A progress bar for the command line, on stderr so that the report on stdout stays clean.

On a terminal the bar redraws itself in place; when stderr is a file or a pipe (CI, cron, a
log) it prints one plain line per stage instead of hundreds of carriage returns."""

from __future__ import annotations

import sys
import time

STAGES = {"parse": "Đọc và kiểm tra tệp", "write": "Ghi vào ngân hàng"}
WIDTH = 30


class ProgressBar:
    def __init__(self, stream=None, min_interval: float = 0.1):
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.min_interval = min_interval
        self._last_draw = 0.0
        self._stage: str | None = None

    def __call__(self, stage: str, done: int, total: int) -> None:
        label = STAGES.get(stage, stage)
        if not self.tty:
            if stage != self._stage:
                self._stage = stage
                self.stream.write(f"{label}…\n")
                self.stream.flush()
            return
        now = time.monotonic()
        if stage == self._stage and done < total and now - self._last_draw < self.min_interval:
            return
        if self._stage is not None and stage != self._stage:
            self.stream.write("\n")
        self._stage, self._last_draw = stage, now
        filled = WIDTH * done // max(total, 1)
        percent = 100 * done // max(total, 1)
        self.stream.write(
            f"\r{label:<20} [{'#' * filled}{'.' * (WIDTH - filled)}] {percent:3d}%"
            + (f" {done}/{total}" if total > 1 else "")
        )
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._stage is not None:
            self.stream.write("\n")
            self.stream.flush()
