"""The leaderboard page's shared part, rendered once and reused: the top of a board (its rows) and
the filter form (every unit and province with its count) look the same to every viewer, so each
process renders them once per board and keeps them. Only the viewer's own standing, their row's
highlight and the page around are rendered per request.

The rest of the page's content is shared too: everything but the viewer's slots (their standing,
whether they are logged in, their row's highlight, a filter error, the staff's form) is rendered
once per fragment and round name, and the link preview once per round name and public address.
The rows around a viewer's own (their standing) are rendered once per process and content: the
neighbours of one viewer are the neighbours of the next.

Keyed by round, phase (live or final), scope and name style, so a final board and a live one, or
two name styles (privacy.py: what the organizer lets the public see), never share an entry; the
rows hold only masked names, never the "this is me" mark. A final board's fragment is used only
for the very version it was rendered from: a republished or rebuilt final board is shown at once.
A live board's changes with every submit, so during a rush its fragment is also reused for up to
LEADERBOARD_PAGE_SECONDS after it was rendered (the page says when: "Cập nhật lúc …"), and the
top is rendered at most that often per process however many submits arrive; 0 renders every
change of the board (still once per version)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup

from app.leaderboard.board import LIVE
from app.leaderboard.schemas import GroupOut
from app.leaderboard.service import TopView


@dataclass(frozen=True)
class Fragment:
    version: str | None
    made_at: float  # the cache's clock
    shown_at: datetime  # wall clock, for "Cập nhật lúc"
    view: TopView
    rows: list[Markup]  # one per row of view, nobody marked as "me"
    filters: Markup  # the filter form, its choices those of the scope, no error
    units: list[GroupOut]  # what the form lists, to render it again with an error
    provinces: list[GroupOut]
    rows_html: str = ""  # `rows` joined: what a viewer off the top sees
    # The page's content around the viewer's slots, for the round name it was rendered with
    # (pages.py); the link preview by round name and public address.
    body: dict[tuple, list[str]] = field(default_factory=dict)
    meta: dict[tuple, Markup] = field(default_factory=dict)


class FragmentCache:
    def __init__(self, live_seconds: float = 2.0, max_entries: int = 256, clock: Callable[[], float] = time.monotonic):
        self.live_seconds = live_seconds
        self.max_entries = max_entries
        self.clock = clock
        self._items: OrderedDict[tuple, Fragment] = OrderedDict()
        self._rows: OrderedDict[tuple, Markup] = OrderedDict()

    def get(self, key: tuple, version: str) -> Fragment | None:
        """key = (round id, phase, scope, name style)."""
        hit = self._items.get(key)
        if hit is None:
            return None
        fresh = hit.version == version or (key[1] == LIVE and self.clock() - hit.made_at < self.live_seconds)
        if not fresh:
            return None
        self._items.move_to_end(key)
        return hit

    def put(self, key: tuple, fragment: Fragment) -> None:
        self._items[key] = fragment
        self._items.move_to_end(key)
        while len(self._items) > self.max_entries:
            self._items.popitem(last=False)

    def row(self, key: tuple, render: Callable[[], Markup]) -> Markup:
        """A board row as `render` makes it, once per process and `key`: what the row shows
        (pages.py), so that two rows alike on the page are one entry here; the oldest go first."""
        hit = self._rows.get(key)
        if hit is None:
            hit = self._rows[key] = render()
            while len(self._rows) > self.max_entries * 16:
                self._rows.popitem(last=False)
        return hit

    def clear(self) -> None:
        self._items.clear()
        self._rows.clear()
