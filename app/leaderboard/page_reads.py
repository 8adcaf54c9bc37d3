"""The board page's reads of Redis for one viewer: which board is current, the viewer's row on it
and their standing in the round with a few neighbours, in one script call; then, only for a
viewer with a unit or province, their rank in those two boards in a second call (their keys come
from the row, which Redis cannot derive: app/core/textnorm.group_key).

The page used a pipeline of four commands and then the standings script for the three boards: a
round trip and its parsing cost the page more CPU than anything else it did. The neighbours come
back as Redis stores them (member, row JSON), so the page can render each row once per content
(fragments.FragmentCache.row) without parsing it again. The JSON API (/me) keeps service.py's
reads."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.redis import Lua
from app.leaderboard.board import FINAL, LIVE, BoardKeys, RoundBoard, Scope
from app.leaderboard.ordering import user_of_member
from app.leaderboard.ranking import RankedEntry
from app.leaderboard.schemas import Phase

# KEYS: final version, live version, final rows, live rows, final board, live board (one round:
# one hash tag, one slot under Redis Cluster). ARGV: the viewer's user id ('' for nobody),
# neighbours above, below. Returns the two versions, then (for a viewer on the current board)
# their row, rank (0-based), the board's size, the first neighbour's rank and (member, row) pairs.
_VIEWER = Lua("""
local final = redis.call('GET', KEYS[1])
local live = redis.call('GET', KEYS[2])
local out = {final or false, live or false}
if ARGV[1] == '' then return out end
local rows, all = KEYS[4], KEYS[6]
if final then rows, all = KEYS[3], KEYS[5] end
local row = redis.call('HGET', rows, ARGV[1])
if not row then return out end
out[3] = row
local rank = redis.call('ZRANK', all, cjson.decode(row)['m'])
if not rank then return out end
local start = math.max(0, rank - tonumber(ARGV[2]))
out[4] = rank
out[5] = redis.call('ZCARD', all)
out[6] = start
for _, m in ipairs(redis.call('ZRANGE', all, start, rank + tonumber(ARGV[3]))) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', rows, string.match(m, ':(%d+)$')) or ''
end
return out
""")


@dataclass(frozen=True)
class Line:
    """A neighbour as the board stores it: rank (1-based), user id, row JSON."""

    rank: int
    user_id: int
    row: str


@dataclass(frozen=True)
class Standing:
    scope: str  # all | unit | province
    scope_name: str | None
    rank: int
    participants: int


@dataclass
class ViewerRead:
    phase: Phase
    version: str | None
    row: str | None  # the viewer's row on the current board (None: not on it, or nobody)
    standings: list[Standing] = field(default_factory=list)  # round, unit, province (where on them)
    lines: list[Line] = field(default_factory=list)  # neighbours in the round's board

    @property
    def on_board(self) -> bool:
        return bool(self.row)


async def read_for_viewer(redis, round_id: int, user_id: int | None, around: int) -> ViewerRead:
    final, live = BoardKeys(round_id, FINAL), BoardKeys(round_id, LIVE)
    found = await _VIEWER(
        redis,
        keys=[final.version, live.version, final.rows, live.rows, final.all, live.all],
        args=["" if user_id is None else user_id, around, around],
    )
    phase: Phase = FINAL if found[0] is not None else LIVE
    read = ViewerRead(phase, found[0] if found[0] is not None else found[1], found[2] if len(found) > 2 else None)
    if len(found) > 3:
        rank, size, start = int(found[3]), int(found[4]), int(found[5])
        read.standings.append(Standing("all", None, rank + 1, size))
        pairs = found[6:]
        read.lines = [
            Line(start + 1 + i // 2, user_of_member(pairs[i]), pairs[i + 1])
            for i in range(0, len(pairs), 2)
            if pairs[i + 1]  # a row can only be missing if the board was damaged: skipped, as board.py does
        ]
    if read.row and user_id is not None:
        await _group_standings(RoundBoard(redis, final if phase == FINAL else live), user_id, read)
    return read


async def _group_standings(board: RoundBoard, user_id: int, read: ViewerRead) -> None:
    """The viewer's rank in their unit's and province's boards (no neighbours: the page lists
    the round's only), in one more call."""
    assert read.row is not None
    mine = RankedEntry.from_board(0, user_id, read.row)
    scopes = [Scope(kind, name) for kind, name in (("unit", mine.unit), ("province", mine.province)) if name]
    if not scopes:
        return
    for scope, standing in zip(scopes, await board.standings(scopes, user_id, 0, 0, 0)):
        if standing is not None:
            read.standings.append(Standing(scope.kind, scope.name, standing[0], standing[1]))
