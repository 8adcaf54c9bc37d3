"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware on the hot path): security headers,
request ids, and refusing oversized bodies before they are read."""

from __future__ import annotations

import secrets

import orjson
from starlette.exceptions import HTTPException

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


class SecurityHeaders:
    def __init__(self, app, *, hsts: bool):
        self.app = app
        self.headers = [
            (b"content-security-policy", CSP.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        self.hsts = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
        if hsts:
            self.headers.append(self.hsts)
        self.https_headers = [*self.headers, self.hsts] if not hsts else self.headers

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        request_id = state.get("request_id") or secrets.token_hex(8)  # set by Observe when present
        state["request_id"] = request_id
        # HSTS whenever the request came over TLS (uvicorn --proxy-headers turns a trusted proxy's
        # X-Forwarded-Proto into the scheme), and always with COOKIE_SECURE.
        headers = self.https_headers if scope.get("scheme") == "https" else self.headers

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers, (b"x-request-id", request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses request bodies over `max_bytes` (uploads: `max_upload_bytes`) with 413."""

    def __init__(self, app, *, max_bytes: int, max_upload_bytes: int):
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        is_upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if is_upload else self.max_bytes
        length = headers.get(b"content-length")
        if length is not None and length.isascii() and length.isdigit() and int(length) > limit:
            return await _too_large(scope, send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except BodyTooLarge:
            await _too_large(scope, send)


class BodyTooLarge(HTTPException):
    # An HTTPException so that FastAPI re-raises it as is while parsing the body (it turns other
    # exceptions into a 400) and the app's handler answers 413 in the right form.
    def __init__(self):
        super().__init__(status_code=413)


async def _too_large(scope, send):
    body = orjson.dumps({"error": {"code": "body_too_large", "message": "Dữ liệu gửi lên quá lớn."}})
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
