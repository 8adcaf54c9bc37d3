"""The route index (app/core/routing.py) must not change which route answers a request: every
documented endpoint is still reached, wrong methods still get 405, unknown paths 404."""
from __future__ import annotations

import re

from app.core.routing import _IncludedRouter


async def test_every_documented_endpoint_is_still_reached(app, client):
    if _IncludedRouter is not None:
        assert any(type(r).__name__ == "_IndexedRouter" for r in app.router.routes)
    paths = app.openapi()["paths"]
    assert len(paths) > 20
    for template, operations in paths.items():
        path = re.sub(r"\{[^}]+\}", "1", template)
        for method in operations:
            response = await client.request(method.upper(), path, headers={"Accept": "application/json"})
            # Whatever the route then says (401, 404 "no such attempt", 422), the router found it:
            # the router's own miss is the generic "not_found"/"method_not_allowed".
            body = response.json() if response.headers.get("content-type", "").startswith("application/json") \
                and response.content else None
            code = body.get("error", {}).get("code") if isinstance(body, dict) else None
            assert code not in ("not_found", "method_not_allowed"), (method, path, response.text)


async def test_misses_are_answered_as_before(client):
    assert (await client.get("/api/v1/ping")).json() == {"ok": True}
    missing = await client.get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.get("/api/v1/attempts/1/answers/2")
    assert wrong_method.status_code == 405
    assert (await client.get("/contests/1/")).status_code in (307, 404)  # as Starlette's slash handling says
