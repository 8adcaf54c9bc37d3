"""A real 3-node Redis Cluster on loopback, started from the tests (and by nothing else).

Each node is `redis-server --cluster-enabled yes` on a free port with its files in a temp dir;
`redis-cli --cluster create ... --cluster-replicas 0` joins them and spreads the 16384 slots.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")
REDIS_CLI = shutil.which("redis-cli")


def _free_ports(count: int) -> list[int]:
    # A cluster node also listens on port + 10000 (the cluster bus): both must be free.
    ports: list[int] = []
    while len(ports) < count:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 10000 > 65535 or port in ports:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port + 10000))
            except OSError:
                continue
        ports.append(port)
    return ports


def _ping(port: int) -> bool:
    return subprocess.run([REDIS_CLI, "-p", str(port), "ping"], capture_output=True, text=True).stdout.strip() == "PONG"


def _cluster_ok(port: int) -> bool:
    out = subprocess.run([REDIS_CLI, "-p", str(port), "cluster", "info"], capture_output=True, text=True).stdout
    return "cluster_state:ok" in out


@contextmanager
def redis_cluster(nodes: int = 3):
    """Yields the startup node URLs ("redis://127.0.0.1:port") of a fresh cluster."""
    if not (REDIS_SERVER and REDIS_CLI):
        raise RuntimeError("redis-server and redis-cli are needed for a Redis Cluster")
    workdir = Path(tempfile.mkdtemp(prefix="ttn-cluster-"))
    ports = _free_ports(nodes)
    processes = []
    try:
        for port in ports:
            node_dir = workdir / str(port)
            node_dir.mkdir()
            processes.append(subprocess.Popen(
                [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
                 "--cluster-config-file", str(node_dir / "nodes.conf"), "--cluster-node-timeout", "5000",
                 "--dir", str(node_dir), "--save", "", "--appendonly", "no", "--protected-mode", "no",
                 "--logfile", str(node_dir / "redis.log")],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.monotonic() + 20
        while not all(_ping(p) for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster nodes did not start")
            time.sleep(0.1)
        subprocess.run([REDIS_CLI, "--cluster", "create", *[f"127.0.0.1:{p}" for p in ports],
                        "--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        while not all(_cluster_ok(p) for p in ports):
            if time.monotonic() > deadline:
                raise RuntimeError("cluster did not reach cluster_state:ok")
            time.sleep(0.2)
        yield [f"redis://127.0.0.1:{p}" for p in ports]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(workdir, ignore_errors=True)
