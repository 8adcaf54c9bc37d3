"""Turning failures into answers: JSON `{error: {code, message}}` for the API, a Vietnamese page
for people. No stack trace ever reaches a participant."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis.exceptions import RedisError, ResponseError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.errors import AppError

log = logging.getLogger("app.errors")

HTTP_MESSAGES = {
    404: ("not_found", "Không tìm thấy trang hoặc tài nguyên yêu cầu."),
    405: ("method_not_allowed", "Phương thức không được hỗ trợ."),
    413: ("body_too_large", "Dữ liệu gửi lên quá lớn."),
}
OUT_OF_RANGE = AppError("invalid_request", "Dữ liệu gửi lên không hợp lệ (số quá lớn).", 422)
UNAVAILABLE = AppError(
    "service_unavailable",
    "Hệ thống đang tạm thời gián đoạn. Các câu trả lời đã lưu không bị mất; vui lòng thử lại sau ít phút.",
    503,
    headers={"Retry-After": "5"},
)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


ErrorPage = Callable[[Request, AppError], Response]


def is_disconnect(exc: DBAPIError) -> bool:
    """A lost or refused database connection (PostgreSQL restarting, a network cut), as opposed
    to a bug: the participant is told to try again, nothing was half-written (the transaction
    died with the connection)."""
    if exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)):
        return True
    cause: BaseException | None = exc.orig
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OSError) or "connection" in type(cause).__name__.lower():
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return "connection was closed" in str(exc) or "connection is closed" in str(exc)


def install(app: FastAPI, error_page: ErrorPage) -> None:
    """`error_page`: how a person's browser is told (app/web/render.py, handed in by app/main.py:
    core does not import the pages)."""

    def render_error(request: Request, error: AppError) -> Response:
        if wants_json(request):
            return JSONResponse(error.to_json(), status_code=error.status, headers=error.headers)
        return error_page(request, error)

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError):
        return render_error(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        details = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        error = AppError("invalid_request", "Dữ liệu gửi lên không hợp lệ.", 422, details=details)
        return render_error(request, error)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code, message = HTTP_MESSAGES.get(exc.status_code, ("http_error", str(exc.detail)))
        return render_error(request, AppError(code, message, exc.status_code, headers=getattr(exc, "headers", None)))

    @app.exception_handler(ResponseError)
    async def _redis_refused(request: Request, exc: ResponseError):
        # Redis answered but refused the command: a value out of range (an offset beyond 64 bits,
        # say) is bad input; anything else (a read-only replica, a full disk) is an outage.
        text = str(exc).lower()
        if "out of range" in text or "not an integer" in text or "not a valid float" in text:
            return render_error(request, OUT_OF_RANGE)
        log.error("redis refused a command: %s", type(exc).__name__)  # READONLY, MISCONF…: an outage
        return render_error(request, UNAVAILABLE)

    @app.exception_handler(RedisError)
    async def _redis_down(request: Request, exc: RedisError):
        log.error("redis unavailable: %s", type(exc).__name__)
        return render_error(request, UNAVAILABLE)

    @app.exception_handler(PoolTimeout)
    async def _db_pool_exhausted(request: Request, exc: PoolTimeout):
        # Every pooled connection stayed busy for pool_timeout: overload, a clear "try again".
        log.error("database pool exhausted")
        return render_error(request, UNAVAILABLE)

    @app.exception_handler(OperationalError)
    async def _db_down(request: Request, exc: OperationalError):
        log.error("database unavailable: %s", type(exc).__name__)
        return render_error(request, UNAVAILABLE)

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError):
        if is_disconnect(exc):
            log.error("database unavailable: %s", type(exc.orig).__name__)
            return render_error(request, UNAVAILABLE)
        if "invalid input for query argument" in str(exc) or "out of range" in str(exc):
            # asyncpg refusing a value before sending it (an id beyond PostgreSQL's integer): bad input.
            return render_error(request, OUT_OF_RANGE)
        log.exception("database error")
        return render_error(request, AppError("internal_error", "Đã có lỗi xảy ra. Vui lòng thử lại.", 500))

    @app.exception_handler(OverflowError)
    async def _too_big(request: Request, exc: OverflowError):
        # An id or number beyond what the database can store (SQLite's 64-bit integers): such a
        # thing cannot exist, so it is bad input, not a server fault.
        return render_error(request, OUT_OF_RANGE)

    @app.exception_handler(DataError)
    async def _bad_value(request: Request, exc: DataError):
        # PostgreSQL refusing a value (an id out of the integer range, say) before running anything.
        return render_error(request, OUT_OF_RANGE)

    @app.exception_handler(OSError)
    async def _connection_lost(request: Request, exc: OSError):
        # A dependency's connection refused, reset or timed out (ConnectionError and TimeoutError
        # are OSErrors). Handled here rather than by the catch-all below, which Starlette re-raises
        # after answering (a full traceback in the log for every request during an outage).
        log.error("dependency unavailable: %s", type(exc).__name__)
        return render_error(request, UNAVAILABLE)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        if isinstance(exc, (ConnectionError, OSError)):
            log.error("dependency unavailable: %r", exc)
            return render_error(request, UNAVAILABLE)
        log.exception("unhandled error")
        return render_error(request, AppError("internal_error", "Đã có lỗi xảy ra. Vui lòng thử lại.", 500))
