"""Redis key names of a round's boards.

Every key of a round carries the hash tag `{r<id>}`, so under Redis Cluster all of a round's
keys live in one slot and each Lua script (which must only touch keys of one slot) can update
the overall, unit and province boards together, atomically.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Final

LIVE: Final = "live"
FINAL: Final = "final"


def group_suffix(kind: str, name: str) -> str:
    """Unit and province names are free text: hash them into short, safe key suffixes."""
    prefix = {"unit": "u", "province": "p"}[kind]
    return f"{prefix}:{hashlib.sha1(name.encode()).hexdigest()[:16]}"


@dataclass(frozen=True)
class BoardKeys:
    round_id: int
    kind: str  # LIVE or FINAL
    staging: bool = False  # the copy a rebuild fills before swapping it in

    @property
    def tag(self) -> str:
        return f"lb:{{r{self.round_id}}}"

    @property
    def base(self) -> str:
        return f"{self.tag}:{self.kind}" + ("~build" if self.staging else "")

    def staged(self) -> BoardKeys:
        return BoardKeys(self.round_id, self.kind, staging=True)

    @property
    def rows(self) -> str:  # hash: user id -> JSON of the counted entry (member, display fields)
        return f"{self.base}:rows"

    @property
    def all(self) -> str:  # sorted set: the whole round
        return f"{self.base}:all"

    @property
    def units(self) -> str:  # sorted set: unit group key -> −participants (so ascending = most first)
        return f"{self.base}:units"

    @property
    def provinces(self) -> str:
        return f"{self.base}:provinces"

    @property
    def names(self) -> str:  # hash: "u:<group key>" / "p:<group key>" -> a name as typed (display)
        return f"{self.base}:names"

    @property
    def registry(self) -> str:  # set of group board suffixes that exist, for rebuild swaps
        return f"{self.base}:boards"

    def board(self, suffix: str) -> str:
        return f"{self.base}:{suffix}"

    def group_board(self, kind: str, name: str) -> str:
        return self.board(group_suffix(kind, name))

    @property
    def meta(self) -> str:  # hash: facts about the board as a whole (the final board's T)
        return f"{self.base}:meta"

    def fixed(self) -> list[str]:
        return [self.rows, self.all, self.units, self.provinces, self.registry, self.meta, self.names]

    # Outside the staged set: they survive a swap (see board.py).
    @property
    def version(self) -> str:
        return f"{self.tag}:{self.kind}:ver"

    @property
    def lock(self) -> str:
        return f"{self.tag}:{self.kind}:lock"
