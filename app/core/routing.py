"""Cheaper route matching: `make bench`'s per-step table found that most of what our
/api/v1/ping cost above a bare FastAPI app was not middleware but routing. FastAPI (0.16x) keeps
each `include_router` as a lazily matched branch and tries every branch in turn, each one trying
every route of its own with some per-route bookkeeping, and the winning branch matches twice. With
~90 routes that was ~140 µs of CPU on every request, the answer save included.

`index_routes` gives each included router a single compiled regex of all its routes' full paths:
a request whose path matches none of them skips that router in one C-level `match`, and the
router's own matching (methods, 405, parameters, dependencies) is untouched for the rest. On
FastAPI versions that flatten included routes there is nothing to do and nothing is changed.
Routes must all be added before `index_routes` is called (create_app calls it last)."""

from __future__ import annotations

import re

from starlette._utils import get_route_path
from starlette.routing import Match

try:  # private: present on the FastAPI versions that match included routers lazily
    from fastapi.routing import _IncludedRouter
except ImportError:  # pragma: no cover - other FastAPI versions
    _IncludedRouter = None  # type: ignore[misc,assignment]

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _paths_regex(included) -> re.Pattern | None:
    """One regex for every full path the included router serves; None: keep the default."""
    patterns = []
    for candidate in included.effective_candidates():
        regex = getattr(candidate, "path_regex", None)
        if isinstance(candidate, _IncludedRouter) or regex is None:
            return None  # a nested router or a mount: not worth special-casing
        patterns.append(_NAMED_GROUP.sub("(?:", regex.pattern))
    return re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None


if _IncludedRouter is not None:

    class _IndexedRouter(_IncludedRouter):
        _paths: re.Pattern

        def matches(self, scope):
            if scope["type"] == "http" and not self._paths.match(get_route_path(scope)):
                return Match.NONE, {}
            return super().matches(scope)


def index_routes(app) -> int:
    """Gives each included router of `app` its path index; returns how many got one."""
    if _IncludedRouter is None:
        return 0
    indexed = 0
    for route in app.router.routes:
        if type(route) is _IncludedRouter:
            paths = _paths_regex(route)
            if paths is not None:
                route.__class__ = _IndexedRouter
                route._paths = paths  # type: ignore[attr-defined]
                indexed += 1
    return indexed
