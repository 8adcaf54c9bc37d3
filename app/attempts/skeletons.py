"""The attempt and result pages rendered by Jinja once per round and kind of page, then filled in
per request by joining strings.

Most of those pages is the same for every participant of a round (the layout, the round's name,
the texts around the numbers), and rendering it through Jinja cost more than everything else the
request did. So each process renders a page's template once with markers in place of every value
that belongs to one request (the person's name and form token, the attempt's numbers, its
questions...), splits the result at the markers and keeps the pieces; a request then joins the
pieces with its own values, escaped as Jinja would have. The pieces hold no person's data: every
personal value is a marker when they are rendered.

What changes the page's structure rather than a value (a flash message or not, a staff member's
header links, the best attempt or not, the retry button...) is part of the key, so each variant
has its own pieces. A skeleton is used only with the very round-cache entry it was rendered from
(app.contests.service.RoundCache): an edited round shows with the same delay as before, the cache's
few seconds. Pages with a form error keep the plain render (rare, and they echo what was typed).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_OPEN, _CLOSE = "\ue000", "\ue001"  # private-use characters: Jinja's escaping leaves them alone
_MARKER = re.compile(f"{_OPEN}(\\w+){_CLOSE}")


def bakeable(*texts: str | None) -> bool:
    """Whether these texts can be rendered into a skeleton: none holds a marker's character (a
    round's name that did would read as a marker)."""
    return not any(text and (_OPEN in text or _CLOSE in text) for text in texts)


def marker(name: str) -> str:
    """What a template is given in place of the value `name` when its skeleton is rendered."""
    return f"{_OPEN}{name}{_CLOSE}"


@dataclass(frozen=True, slots=True)
class Skeleton:
    owner: object  # what it was rendered from (the round-cache entry): used only with it
    texts: tuple[str, ...]  # the page's fixed text, one more than names
    names: tuple[str, ...]  # the value that goes after each text but the last

    @classmethod
    def parse(cls, owner: object, rendered: str) -> Skeleton:
        parts = _MARKER.split(rendered)
        return cls(owner, tuple(parts[::2]), tuple(parts[1::2]))

    def fill(self, values: Mapping[str, str]) -> str:
        """The page, `values` (already escaped) in place of the markers."""
        out = [self.texts[0]]
        for name, text in zip(self.names, self.texts[1:], strict=True):
            out.append(values[name])
            out.append(text)
        return "".join(out)


class Skeletons:
    """Skeletons by key (page, round id, variant), each valid for the owner it was rendered from."""

    def __init__(self, capacity: int = 1024):
        self.capacity = capacity
        self._items: OrderedDict[tuple, Skeleton] = OrderedDict()

    def get(self, key: tuple, owner: object, render: Callable[[], str], names: frozenset[str]) -> Skeleton | None:
        """The skeleton of `key` for `owner`, rendered by `render()` if missing or from another
        owner. None if the rendered page has a marker that is not one of `names` (a round's name
        that happens to look like one): the caller then renders the page as usual."""
        hit = self._items.get(key)
        if hit is None or hit.owner is not owner:
            hit = Skeleton.parse(owner, render())
            if not names.issuperset(hit.names):
                return None
            self._items[key] = hit
            if len(self._items) > self.capacity:
                self._items.popitem(last=False)
        return hit

    def clear(self) -> None:
        self._items.clear()


SKELETONS = Skeletons()
