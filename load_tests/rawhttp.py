"""A minimal asyncio HTTP/1.1 keep-alive client for the storm bench (load_tests/storm.py).

httpx's connection pool does work per request that grows with the connections it holds: with a
few hundred participants in flight the bench's own client spent seconds per request in it (the
server idle meanwhile, its event-loop lag near zero), so the figures measured the client. This
one keeps idle connections on a stack (O(1) per request), sends the request bytes and reads the
answer by its Content-Length, nothing more: enough for the app's JSON API on loopback.
"""
from __future__ import annotations

import asyncio
import time

import orjson

IDLE_SECONDS = 4.0  # below uvicorn's 5 s keep-alive: never reuse a connection it is closing


class HTTPError(Exception):
    pass


class Response:
    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def json(self):
        return orjson.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class Client:
    def __init__(self, base_url: str, timeout: float = 30.0):
        host, _, port = base_url.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port or 80)
        self.timeout = timeout
        self._idle: list[tuple[float, asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        while self._idle:
            _, _, writer = self._idle.pop()
            writer.close()

    async def _connection(self):
        now = time.monotonic()
        while self._idle:
            used, reader, writer = self._idle.pop()
            if now - used < IDLE_SECONDS and not reader.at_eof():
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.host, self.port)

    async def request(self, method: str, url: str, json=None, headers: dict | None = None) -> Response:
        try:
            return await asyncio.wait_for(self._request(method, url, json, headers), self.timeout)
        except asyncio.TimeoutError as exc:
            raise HTTPError("ReadTimeout") from exc
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            raise HTTPError(type(exc).__name__) from exc

    async def _request(self, method: str, url: str, json, headers: dict | None) -> Response:
        body = orjson.dumps(json) if json is not None else b""
        lines = [f"{method} {url} HTTP/1.1", f"Host: {self.host}:{self.port}", "Accept: application/json",
                 f"Content-Length: {len(body)}"]
        if json is not None:
            lines.append("Content-Type: application/json")
        for name, value in (headers or {}).items():
            lines.append(f"{name}: {value}")
        reader, writer = await self._connection()
        try:
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            status = int(status_line.split(" ", 2)[1])
            answer_headers = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    answer_headers[name.strip().lower()] = value.strip()
            content = await reader.readexactly(int(answer_headers.get("content-length", "0")))
        except BaseException:
            writer.close()
            raise
        if answer_headers.get("connection", "").lower() == "close":
            writer.close()
        else:
            self._idle.append((time.monotonic(), reader, writer))
        return Response(status, answer_headers, content)
