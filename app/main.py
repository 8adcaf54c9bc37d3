"""The FastAPI application: wiring only. Features live in app/<feature>/."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from app import models  # noqa: F401  (registers every table)
from app.accounts.login_pages import router as account_pages
from app.accounts.pages import router as recovery_pages
from app.accounts.routes import router as accounts_api
from app.admin.pages import public as console_public
from app.admin.pages import router as console_pages
from app.admin.recovery_pages import router as recovery_console
from app.admin.routes import router as console_api
from app.attempts.pages import router as attempt_pages
from app.attempts.routes import router as attempts_api
from app.config import Settings, get_settings
from app.contests.pages import router as contest_pages
from app.contests.routes import router as contests_api
from app.core import handlers
from app.core.logs import configure_logging
from app.core.middleware import BodyLimit, SecurityHeaders
from app.core.observability import Observe, worker_started
from app.core.observability import router as operations
from app.core.routing import index_routes
from app.integrity.pages import router as integrity_pages
from app.integrity.routes import router as integrity_api
from app.jobs.worker import InProcessWorker
from app.leaderboard.pages import router as leaderboard_pages
from app.leaderboard.routes import router as leaderboard_api
from app.outreach import pages as outreach
from app.questions.pages import router as bank_pages
from app.questions.routes import router as bank_api
from app.web.render import STATIC_DIR, render_error_page
from app.wiring import build_runtime, close_runtime

log = logging.getLogger("app")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_format, settings.log_level, settings.access_log)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = app.state.runtime = build_runtime(settings)
        worker_started()
        # Background jobs (app/jobs): exports, board rebuilds, the deadline sweep, expiry. With
        # PostgreSQL they run in `python -m app worker`; embedded, this process runs a worker.
        await runtime.jobs.connect()
        worker = InProcessWorker(runtime) if settings.runs_jobs_in_process else None
        if worker:
            worker.start()
        # Everything built so far (modules, routes, dependency graphs, templates, settings) lives as
        # long as the process: move it out of the collector's sight. Without this every full
        # collection walks it again, and a page that allocates many small strings (the attempt
        # page's render) triggers them: measured 2.2 -> 4.0 ms of CPU per attempt page when the
        # structure sweep grew the start-up heap, 2.0 ms with the freeze (README, per-step table).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            if worker:
                await worker.stop()
            await close_runtime(runtime)

    app = FastAPI(
        title="Thi trắc nghiệm — API",
        description="Online multiple-choice contests. Errors are `{\"error\": {\"code\", \"message\"}}`; "
        "messages are Vietnamese, for people.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    handlers.install(app, render_error_page)
    app.include_router(accounts_api)
    app.include_router(contests_api)
    app.include_router(attempts_api)
    app.include_router(leaderboard_api)
    app.include_router(contest_pages)  # the participant pages
    app.include_router(account_pages)
    app.include_router(attempt_pages)
    app.include_router(leaderboard_pages)
    app.include_router(bank_api)
    app.include_router(bank_pages)
    app.include_router(console_api)
    app.include_router(outreach.console)  # before the console pages: /admin/contests/{id}/{tab} would take its paths
    app.include_router(outreach.public)
    app.include_router(console_pages)
    app.include_router(console_public)
    app.include_router(recovery_pages)
    app.include_router(recovery_console)
    app.include_router(integrity_api)
    app.include_router(integrity_pages)
    app.include_router(operations)  # /healthz, /readyz, /metrics
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    async def docs():
        # Served from our own static files: no CDN, and the init script is external so the
        # page works under the strict Content-Security-Policy.
        html = get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Thi trắc nghiệm — API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )
        body = html.body.decode()
        start = body.index("<script>", body.index("swagger-ui-bundle.js"))
        end = body.index("</script>", start) + len("</script>")
        body = body[:start] + '<script src="/static/docs-init.js"></script>' + body[end:]
        return HTMLResponse(body)

    @app.get("/api/v1/ping", include_in_schema=False)
    async def ping():
        # The cheapest JSON answer through the whole stack (middleware, routing, serialization):
        # `make bench` compares the hot endpoints with it.
        return {"ok": True}

    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes)
    app.add_middleware(SecurityHeaders, hsts=settings.cookie_secure)
    app.add_middleware(Observe, access_log=settings.access_log)  # outermost: sees every answer
    index_routes(app)  # last: every route is known (app/core/routing.py)
    return app


app = create_app()
