"""Every route of the app with its full path, through FastAPI's lazily included routers."""

from __future__ import annotations


def walk_routes(routes, prefix: str = ""):
    """(full path, route) for each endpoint (every leaf with a path: API routes, and Starlette's own
    such as /docs); included routers are entered with their prefix."""
    for route in routes:
        nested = getattr(route, "original_router", None)
        if nested is not None:
            context = getattr(route, "include_context", None)
            yield from walk_routes(nested.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif getattr(route, "path", None):
            yield prefix + route.path, route
