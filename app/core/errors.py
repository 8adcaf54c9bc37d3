"""Application errors: one exception type, rendered as JSON for the API and as a page for people."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class AppError(Exception):
    """A failure the user can understand. `message` is Vietnamese, shown to people as is."""

    status = 400

    def __init__(
        self, code: str, message: str, status: int | None = None, *, details=None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.code = code
        self.message = message
        if status is not None:
            self.status = status
        self.details = details
        self.headers = headers or {}

    def to_json(self) -> dict:
        body = {"code": self.code, "message": self.message}
        if self.details is not None:
            body["details"] = self.details
        return {"error": body}


class NotFound(AppError):
    status = 404


class Conflict(AppError):
    status = 409


class Unauthorized(AppError):
    status = 401


class Forbidden(AppError):
    status = 403


class Invalid(AppError):
    status = 422


class ErrorBody(BaseModel):
    code: str
    message: str
    details: dict | list | None = None


class ErrorOut(BaseModel):
    error: ErrorBody


# Documented on every router so the OpenAPI spec shows the error shape clients must handle.
ErrorResponses: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut} for status in (400, 401, 403, 404, 409, 422, 429)
}
