"""How much opening this process can take right now: the waiting room's load signal.

A fixed admission rate protects the people already answering only when it matches the CPU the
servers really have; on a busy or smaller host the admitted opens queue in the event loop and the
saves wait behind them (README, "The round-opening rush"). So each process measures its own load
and the waiting room admits newcomers only while it is light:

- opens in flight: the opens this process is doing now plus the admitted ones waiting for a
  turn. At most `limit // 2` (at least 1) run at once; the others wait at the gate in arrival
  order, so an open's work never fills the event loop however many are admitted at once, and
  saves slip in between its database round trips.
- event-loop lag: how late a 50 ms timer fires, sampled by a task of the gauge. Any work queued
  in the loop (opens, pages, logins) shows up there, and that delay is what a save waits.
- the answer saves' own latency (enqueue to commit, fed by the worker's AnswerWriter): the one
  figure the rush must not spoil. It also sees what the loop lag cannot: a database (or a host)
  slowed down by the opens' writes or by anything else.

`health()` turns the three into one figure between 0 (full: admit nobody more) and 1 (light: admit at
the configured rate, which is now a ceiling): 1 up to half of either bound, 0 at it. The waiting room multiplies its rate by it at every
admission decision, in the shared Redis line, so the order stays first come, first served across
workers and hosts, and only the pace follows the load.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from typing import Protocol


class LoadSignal(Protocol):
    def health(self) -> float:
        """0.0 = no room for another open; 1.0 = light load."""
        ...


class GateTimeout(Exception):
    """An admitted open waited too long for its turn at this process's gate."""


class LoadGauge:
    """Per process. `limit`: opens in flight (running + waiting at the gate) at which this process
    counts as full; `lag_bound_ms`: the event-loop lag, `save_bound_ms` the answer-save latency
    at which it counts as full (0: that signal unused)."""

    SAMPLE_SECONDS = 0.05

    SAVE_HALF_LIFE = 0.25  # seconds: a slow save weighs for about a second, then fades

    def __init__(
        self, limit: int = 4, lag_bound_ms: float = 100.0, gate_timeout: float = 10.0, save_bound_ms: float = 200.0
    ):
        self.limit = max(1, limit)
        self.lag_bound_ms = lag_bound_ms
        self.save_bound_ms = save_bound_ms
        self._save_ms = 0.0
        self._save_at = 0.0
        self.gate_timeout = gate_timeout
        self.running = 0
        self.waiting = 0
        self.pending = 0  # arrivals claimed as idle, between the room's script and the gate
        self.lag_ms = 0.0
        self._gate = asyncio.Semaphore(max(1, self.limit // 2))
        self._sampler: asyncio.Task | None = None

    # -- the signal

    def observe_save(self, seconds: float) -> None:
        """One answer save took this long (enqueue to commit)."""
        self._save_ms = max(seconds * 1000, self.save_ms)
        self._save_at = time.monotonic()

    @property
    def save_ms(self) -> float:
        """The slowest recent save, fading by half every SAVE_HALF_LIFE seconds."""
        if not self._save_ms:
            return 0.0
        return self._save_ms * 0.5 ** ((time.monotonic() - self._save_at) / self.SAVE_HALF_LIFE)

    def health(self) -> float:
        pressure = max(
            (self.running + self.waiting + self.pending) / self.limit,
            self.lag_ms / self.lag_bound_ms if self.lag_bound_ms > 0 else 0.0,
            self.save_ms / self.save_bound_ms if self.save_bound_ms > 0 else 0.0,
        )
        # Full pace up to half the bounds (an idle process's few milliseconds of timer jitter and
        # the opens it is already doing are no reason to slow down), then down to nothing at them.
        return max(0.0, min(1.0, 2.0 * (1.0 - pressure)))

    def idle(self) -> bool:
        """Nothing to do here: no open running, waiting at the gate or just claimed as idle, and
        every signal light. An open arriving now delays nobody."""
        return self.running + self.waiting + self.pending == 0 and self.health() >= 1.0

    def start(self) -> None:
        if self._sampler is None and self.lag_bound_ms > 0:
            self._sampler = asyncio.get_running_loop().create_task(self._sample_forever())

    async def stop(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None

    async def _sample_forever(self) -> None:
        interval = self.SAMPLE_SECONDS
        while True:
            before = time.perf_counter()
            await asyncio.sleep(interval)
            late = max(0.0, (time.perf_counter() - before - interval) * 1000)
            # A spike counts at once, and fades over a few samples: one quiet tick right after a
            # burst must not reopen the doors wide.
            self.lag_ms = max(late, self.lag_ms * 0.5)

    # -- the gate

    @contextlib.asynccontextmanager
    async def opening(self) -> AsyncIterator[None]:
        """Around the work of one open: waits its turn (FIFO) behind the opens running here."""
        if self._gate.locked():
            self.waiting += 1
            try:
                await asyncio.wait_for(self._gate.acquire(), self.gate_timeout)
            except TimeoutError as exc:
                raise GateTimeout from exc
            finally:
                self.waiting -= 1
        else:
            # A free turn and nobody waiting for one: taken at once, without wait_for's task and
            # timer (the usual case outside a rush; the FIFO order is unchanged).
            await self._gate.acquire()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            self._gate.release()
