"""Request ids, Prometheus metrics, access log lines, and the /healthz, /readyz and /metrics
endpoints.

The middleware is on every request, the answer save included, so it does only what must be done
per request: a perf_counter pair, a context variable, one counter and one histogram update (on
children cached per route), and one log line when ACCESS_LOG is on.

Several worker processes: set PROMETHEUS_MULTIPROC_DIR to an empty directory before starting
them, and /metrics sums the counters of every worker (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text

from app.core.logs import request_id
from app.core.runtime import request_runtime

access = logging.getLogger("app.access")

REQUESTS = Counter("http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram(
    "http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
SUBMISSIONS = Counter("attempt_submissions_total", "Attempts closed and graded", ["kind"])
ANSWERS = Counter("attempt_answers_saved_total", "Answers committed and acknowledged")

_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_children: dict[tuple, tuple] = {}


def _metric_children(method: str, route: str, status: int):
    key = (method, route, status)
    found = _children.get(key)
    if found is None:
        found = _children[key] = (REQUESTS.labels(method, route, str(status)), LATENCY.labels(method, route))
    return found


def route_name(scope) -> str:
    # The route's template ("/api/v1/attempts/{attempt_id}"), never the raw path: ids in label
    # values would create a time series per attempt.
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return path
    return "/static" if scope.get("path", "").startswith("/static/") else "unmatched"


class Observe:
    """Outermost middleware: request id (kept from X-Request-ID if sane), metrics, access line."""

    def __init__(self, app, *, access_log: bool):
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming and _VALID_ID.match(incoming) else secrets.token_hex(8)
        scope.setdefault("state", {})["request_id"] = rid
        token = request_id.set(rid)
        status = 500
        start = time.perf_counter()

        async def send_observed(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            elapsed = time.perf_counter() - start
            method, route = scope["method"], route_name(scope)
            counter, histogram = _metric_children(method, route, status)
            counter.inc()
            histogram.observe(elapsed)
            if self.access_log:
                access.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={"method": method, "route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                )
            request_id.reset(token)


# --- endpoints ---------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz():
    """Liveness: the process answers. Says nothing about dependencies (see /readyz)."""
    return {"status": "ok"}


async def _check(coro, timeout: float) -> str:
    try:
        await asyncio.wait_for(coro, timeout)
        return "ok"
    except Exception:  # any failure or timeout means "not ready"; the reason goes to the log
        logging.getLogger("app.ready").warning("readiness check failed", exc_info=True)
        return "down"


async def _db_ping(request: Request) -> None:
    async with request_runtime(request).sessionmaker() as db:
        await db.execute(text("SELECT 1"))


@router.get("/readyz")
async def readyz(request: Request):
    """Readiness: the database and Redis both answer. A load balancer stops sending traffic to a
    process that says 503 here, and the body says which dependency is down."""
    timeout = request_runtime(request).settings.ready_timeout_seconds
    database, redis = await asyncio.gather(
        _check(_db_ping(request), timeout), _check(request_runtime(request).redis.ping(), timeout)
    )
    checks = {"database": database, "redis": redis}
    if database == redis == "ok":
        return {"status": "ready", "checks": checks}
    return JSONResponse(
        {
            "status": "unavailable",
            "checks": checks,
            "error": {"code": "not_ready", "message": "Hệ thống đang tạm thời gián đoạn."},
        },
        status_code=503,
        headers={"Retry-After": "5"},
    )


async def _attempts_in_progress(request: Request) -> int | None:
    """The gauge the runtime wires in (`Runtime.gauges`: core does not know what an attempt is)."""
    runtime = request_runtime(request)
    count = runtime.gauges.get("attempts_in_progress")
    if count is None:
        return None
    try:
        async with runtime.sessionmaker() as db:
            return await asyncio.wait_for(count(db), 2)
    except Exception:
        return None


@router.get("/metrics")
async def metrics(request: Request):
    """Prometheus text format. `attempts_in_progress` is read from the database (the record, the
    same for every worker) at scrape time."""
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    else:
        body = generate_latest()
    in_progress = await _attempts_in_progress(request)
    if in_progress is not None:
        body += (
            b"# HELP attempts_in_progress Attempts opened and not yet closed\n"
            b"# TYPE attempts_in_progress gauge\n"
            b"attempts_in_progress " + str(in_progress).encode() + b"\n"
        )
    return Response(body, media_type=CONTENT_TYPE_LATEST)
