"""A round's board in Redis: its key names, sorted sets for the whole round and for each unit and
province, a hash of display rows, participant counts per unit and province, the scripts that
change and read them, and which Redis holds them.

Works with `redis.asyncio.Redis` and `redis.asyncio.cluster.RedisCluster` alike (clients created
with decode_responses=True): every key of a round carries the hash tag `{r<id>}`, so under Redis
Cluster all of a round's keys live in one slot and each Lua script (which must only touch keys of
one slot) can update the overall, unit and province boards together, atomically."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import islice
from typing import Final

from app.config import Settings
from app.core.redis import Lua
from app.core.textnorm import clean_text, group_key
from app.leaderboard.ordering import BoardEntry, user_of_member
from app.leaderboard.ranking import RankedEntry

# --- key names ---------------------------------------------------------------------------------

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

    # Outside the staged set: they survive a swap (RoundBoard.replace_all).
    @property
    def version(self) -> str:
        return f"{self.tag}:{self.kind}:ver"

    @property
    def lock(self) -> str:
        return f"{self.tag}:{self.kind}:lock"


# --- scripts -----------------------------------------------------------------------------------


_BUMP = """
local function bump(key, fresh)
  if fresh or redis.call('EXISTS', key) == 0 then
    local t = redis.call('TIME')
    redis.call('SET', key, t[1] .. string.format('%06d', tonumber(t[2])))
  else
    redis.call('INCR', key)
  end
end
"""

# Records a participant's attempt if it beats their current entry. Unit and province boards and
# counts are keyed by the group key (ordering.BoardEntry); the names hash keeps a spelling to show. The comparison is made by
# Redis itself (ZRANK of both members in the same set), so it is exactly the board's order.
# The caller read the current row to name the old unit/province boards (keys must be declared);
# if the row changed since (a concurrent submit of the same participant), nothing is written
# and -1 asks the caller to read again.
#
# The submit's quick form (ARGV[2] = QUICK, one round trip instead of two): the caller did not
# read the row and declared its own unit and province boards as the old ones, which is right
# whenever the participant's current row has the same unit and province as typed (ARGV[15],
# ARGV[16]) -- always so for a first attempt, and for a later one unless the profile changed.
# Otherwise -2 (nothing written: the caller reads the row and declares the old boards); -3 if
# the board's version key is missing (Redis lost the board: the caller rebuilds it instead).
_RECORD = Lua(
    _BUMP
    + """
local function leave(counts, name)
  if tonumber(redis.call('ZINCRBY', counts, 1, name)) >= 0 then redis.call('ZREM', counts, name) end
end
local rows, all, units, provinces, registry = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local uid, expected, old = ARGV[1], ARGV[2], ARGV[3]
local score, member = ARGV[7], ARGV[8]
local current = redis.call('HGET', rows, uid) or ''
if expected == '*' then
  if redis.call('EXISTS', KEYS[6]) == 0 then return -3 end
  if current ~= '' then
    local row = cjson.decode(current)
    if row['u'] ~= ARGV[15] or row['p'] ~= ARGV[16] then return -2 end
    old = row['m']
  end
elseif current ~= expected then return -1 end
if current ~= '' then
  if old == member then return 0 end
  redis.call('ZADD', all, score, member)
  local old_rank = redis.call('ZRANK', all, old)
  if old_rank and old_rank < redis.call('ZRANK', all, member) then
    redis.call('ZREM', all, member)
    return 0
  end
  redis.call('ZREM', all, old)
  if ARGV[4] ~= '' then redis.call('ZREM', KEYS[9], old); leave(units, ARGV[4]) end
  if ARGV[5] ~= '' then redis.call('ZREM', KEYS[10], old); leave(provinces, ARGV[5]) end
else
  redis.call('ZADD', all, score, member)
end
if ARGV[9] ~= '' then
  redis.call('ZADD', KEYS[7], score, member)
  redis.call('ZINCRBY', units, -1, ARGV[9])
  redis.call('SADD', registry, ARGV[11])
  redis.call('HSETNX', KEYS[11], 'u:' .. ARGV[9], ARGV[13])
end
if ARGV[10] ~= '' then
  redis.call('ZADD', KEYS[8], score, member)
  redis.call('ZINCRBY', provinces, -1, ARGV[10])
  redis.call('SADD', registry, ARGV[12])
  redis.call('HSETNX', KEYS[11], 'p:' .. ARGV[10], ARGV[14])
end
redis.call('HSET', rows, uid, ARGV[6])
bump(KEYS[6], false)
return 1
"""
)

# Replaces the live keys by the staged ones in one step. KEYS: live registry, version, then
# (staged, live) pairs, then live keys to delete. ARGV: number of pairs, then the live group
# suffixes the caller saw; a group created since then would be left orphaned, so -1 = retry.
_SWAP = Lua(
    _BUMP
    + """
local pairs_count = tonumber(ARGV[1])
local declared = {}
for i = 2, #ARGV do declared[ARGV[i]] = true end
for _, suffix in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if not declared[suffix] then return -1 end
end
for i = 0, pairs_count - 1 do
  local from, to = KEYS[3 + 2 * i], KEYS[4 + 2 * i]
  if redis.call('EXISTS', from) == 1 then redis.call('RENAME', from, to) else redis.call('DEL', to) end
end
for i = 3 + 2 * pairs_count, #KEYS do redis.call('DEL', KEYS[i]) end
bump(KEYS[2], true)
return 1
"""
)

# One round trip and one consistent snapshot: the board's size, then members in rank order,
# each with its row.
_PAGE = Lua("""
local out = {redis.call('ZCARD', KEYS[1])}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], ARGV[1], ARGV[2])) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[2], string.match(m, ':(%d+)$')) or ''
end
return out
""")

# A participant's rank in a board with a few neighbours above and below.
_AROUND = Lua("""
local row = redis.call('HGET', KEYS[2], ARGV[1])
if not row then return false end
local rank = redis.call('ZRANK', KEYS[1], cjson.decode(row)['m'])
if not rank then return false end
local start = math.max(0, rank - tonumber(ARGV[2]))
local out = {rank, redis.call('ZCARD', KEYS[1]), start}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], start, rank + tonumber(ARGV[3]))) do
  out[#out + 1] = m
  out[#out + 1] = redis.call('HGET', KEYS[2], string.match(m, ':(%d+)$')) or ''
end
return out
""")

# A participant's rank with a few neighbours above and below in several boards at once (the
# round's, their unit's, their province's): one round trip for "my standing". KEYS: the rows
# hash, then the boards; per board, -1 (not on it) or rank, size, start, n, then n (member, row).
# Neighbours are read for the first ARGV[4] boards only (the page lists them for the round's).
_STANDINGS = Lua("""
local row = redis.call('HGET', KEYS[1], ARGV[1])
if not row then return false end
local member = cjson.decode(row)['m']
local out = {}
for i = 2, #KEYS do
  local rank = redis.call('ZRANK', KEYS[i], member)
  if not rank then
    out[#out + 1] = -1
  else
    local start = math.max(0, rank - tonumber(ARGV[2]))
    local members = {}
    if i - 1 <= tonumber(ARGV[4]) then members = redis.call('ZRANGE', KEYS[i], start, rank + tonumber(ARGV[3])) end
    out[#out + 1] = rank
    out[#out + 1] = redis.call('ZCARD', KEYS[i])
    out[#out + 1] = start
    out[#out + 1] = #members
    for _, m in ipairs(members) do
      out[#out + 1] = m
      out[#out + 1] = redis.call('HGET', KEYS[1], string.match(m, ':(%d+)$')) or ''
    end
  end
end
return out
""")

_BULK_CHUNK = 2000
_QUICK = "*"  # _RECORD's quick form: the caller did not read the current row
_MAX_RETRIES = 50


class BoardContention(RuntimeError):
    pass


@dataclass(frozen=True)
class Scope:
    kind: str = "all"  # all | unit | province
    name: str | None = None

    def key(self, keys: BoardKeys) -> str:
        # Any spelling of a unit or province finds its group ("sở  tư pháp" = "Sở Tư pháp").
        return keys.all if self.kind == "all" else keys.group_board(self.kind, group_key(self.name))


ALL = Scope()


def _lines(flat: list, first_rank: int) -> list[RankedEntry]:
    lines = []
    for i in range(0, len(flat), 2):
        member, row = flat[i], flat[i + 1]
        if row:  # a row can only be missing if the board was damaged; skip rather than fail
            lines.append(RankedEntry.from_board(first_rank + i // 2, user_of_member(member), row))
    return lines


class RoundBoard:
    def __init__(self, redis, keys: BoardKeys):
        self.redis = redis
        self.keys = keys

    # --- writing -----------------------------------------------------------------------------

    async def _call_record(self, entry: BoardEntry, current: str, old: dict, old_unit: str, old_province: str) -> int:
        k = self.keys
        unit, province = entry.unit or "", entry.province or ""
        return await _RECORD(
            self.redis,
            keys=[
                k.rows,
                k.all,
                k.units,
                k.provinces,
                k.registry,
                k.version,
                k.group_board("unit", unit),
                k.group_board("province", province),
                k.group_board("unit", old_unit),
                k.group_board("province", old_province),
                k.names,
            ],
            args=[
                str(entry.user_id),
                current,
                old.get("m", ""),
                old_unit,
                old_province,
                entry.row_json,
                entry.score,
                entry.member,
                unit,
                province,
                group_suffix("unit", unit),
                group_suffix("province", province),
                clean_text(entry.row.get("u") or ""),
                clean_text(entry.row.get("p") or ""),
                entry.row.get("u") or "",
                entry.row.get("p") or "",
            ],
        )

    async def record(self, entry: BoardEntry) -> bool:
        """True if the entry is now the participant's counted one; False if their current entry
        is as good or better (or is this very attempt)."""
        k = self.keys
        uid = str(entry.user_id)
        for _ in range(_MAX_RETRIES):
            current = await self.redis.hget(k.rows, uid) or ""
            old = json.loads(current) if current else {}
            outcome = await self._call_record(entry, current, old, group_key(old.get("u")), group_key(old.get("p")))
            if outcome != -1:
                return outcome == 1
        raise BoardContention(f"board {k.base} kept changing under user {uid}")

    async def record_if_present(self, entry: BoardEntry) -> bool | None:
        """`record` for a submit, in one round trip when the participant's unit and province are
        the ones already on their row (the usual case); None, with nothing written, if the board's
        version key is missing (Redis lost the board: rebuild it from the database instead)."""
        outcome = await self._call_record(entry, _QUICK, {}, entry.unit or "", entry.province or "")
        if outcome == -3:
            return None
        if outcome == -2:
            return await self.record(entry)
        return outcome == 1

    async def replace_all(self, entries: Iterable[BoardEntry], meta: dict[str, str] | None = None) -> None:
        """Makes the board hold exactly `entries` (one per participant) and `meta`. Readers see
        the old board until the new one is complete, then the new one at once."""
        staging = RoundBoard(self.redis, self.keys.staged())
        await staging.delete()
        await staging._write(entries)
        if meta:
            await self.redis.hset(staging.keys.meta, mapping=meta)
        for _ in range(_MAX_RETRIES):
            if await self._swap_in(staging.keys):
                return
        raise BoardContention(f"board {self.keys.base} kept changing during a rebuild")

    async def _write(self, entries: Iterable[BoardEntry]) -> None:
        """Bulk write in pipelined chunks; `entries` may be a generator (a million participants
        need not be held in memory at once)."""
        k = self.keys
        unit_counts: Counter[str] = Counter()
        province_counts: Counter[str] = Counter()
        names: dict[str, str] = {}
        iterator = iter(entries)
        while chunk := list(islice(iterator, _BULK_CHUNK)):
            pipe = self.redis.pipeline(transaction=False)
            pipe.zadd(k.all, {e.member: e.score for e in chunk})
            pipe.hset(k.rows, mapping={str(e.user_id): e.row_json for e in chunk})
            groups: dict[str, dict[str, int]] = {}
            for e in chunk:
                if e.unit:
                    groups.setdefault(k.group_board("unit", e.unit), {})[e.member] = e.score
                    unit_counts[e.unit] += 1
                    names.setdefault(f"u:{e.unit}", clean_text(e.row.get("u") or ""))
                if e.province:
                    groups.setdefault(k.group_board("province", e.province), {})[e.member] = e.score
                    province_counts[e.province] += 1
                    names.setdefault(f"p:{e.province}", clean_text(e.row.get("p") or ""))
            for key, mapping in groups.items():
                pipe.zadd(key, mapping)
            await pipe.execute()
        pipe = self.redis.pipeline(transaction=False)
        if unit_counts:
            pipe.zadd(k.units, {name: -n for name, n in unit_counts.items()})
        if province_counts:
            pipe.zadd(k.provinces, {name: -n for name, n in province_counts.items()})
        if names:
            pipe.hset(k.names, mapping=names)
        suffixes = [group_suffix("unit", n) for n in unit_counts] + [
            group_suffix("province", n) for n in province_counts
        ]
        if suffixes:
            pipe.sadd(k.registry, *suffixes)
        await pipe.execute()

    async def _swap_in(self, staged: BoardKeys) -> bool:
        live = self.keys
        live_suffixes = set(await self.redis.smembers(live.registry))
        staged_suffixes = set(await self.redis.smembers(staged.registry))
        pairs = list(zip(staged.fixed(), live.fixed()))
        pairs += [(staged.board(s), live.board(s)) for s in sorted(staged_suffixes)]
        deletes = [live.board(s) for s in sorted(live_suffixes - staged_suffixes)]
        keys = [live.registry, live.version] + [key for pair in pairs for key in pair] + deletes
        return await _SWAP(self.redis, keys=keys, args=[len(pairs), *sorted(live_suffixes)]) == 1

    async def delete(self) -> None:
        k = self.keys
        suffixes = await self.redis.smembers(k.registry)
        keys = k.fixed() + [k.board(s) for s in suffixes]
        for start in range(0, len(keys), 500):
            # UNLINK: a board of a million members is freed in the background, not while every
            # other client waits.
            await self.redis.unlink(*keys[start : start + 500])

    # --- reading -----------------------------------------------------------------------------

    async def meta(self) -> dict[str, str]:
        return await self.redis.hgetall(self.keys.meta)

    async def version(self) -> str | None:
        return await self.redis.get(self.keys.version)

    async def size(self, scope: Scope = ALL) -> int:
        return await self.redis.zcard(scope.key(self.keys))

    async def page(self, scope: Scope, offset: int, limit: int) -> tuple[int, list[RankedEntry]]:
        """(participants in the board, lines ranked offset+1 .. offset+limit)."""
        if limit <= 0:
            return await self.size(scope), []
        flat = await _PAGE(self.redis, keys=[scope.key(self.keys), self.keys.rows], args=[offset, offset + limit - 1])
        return int(flat[0]), _lines(flat[1:], offset + 1)

    async def around(
        self, scope: Scope, user_id: int, above: int, below: int
    ) -> tuple[int, int, list[RankedEntry]] | None:
        """(rank, participants in the board, lines from a few above to a few below) or None."""
        found = await _AROUND(self.redis, keys=[scope.key(self.keys), self.keys.rows], args=[user_id, above, below])
        if not found:
            return None
        rank, size, start = int(found[0]), int(found[1]), int(found[2])
        return rank + 1, size, _lines(found[3:], start + 1)

    async def standings(
        self, scopes: list[Scope], user_id: int, above: int, below: int, with_lines: int | None = None
    ) -> list[tuple[int, int, list[RankedEntry]] | None]:
        """`around` in each of `scopes`, in one round trip: per scope (rank, participants, lines)
        or None where the participant is not on that board. Lines only for the first
        `with_lines` scopes (default all); the others' come back empty."""
        with_lines = len(scopes) if with_lines is None else with_lines
        found = await _STANDINGS(
            self.redis,
            keys=[self.keys.rows] + [scope.key(self.keys) for scope in scopes],
            args=[user_id, above, below, with_lines],
        )
        if not found:
            return [None] * len(scopes)
        out: list[tuple[int, int, list[RankedEntry]] | None] = []
        i = 0
        for _ in scopes:
            rank = int(found[i])
            if rank < 0:
                out.append(None)
                i += 1
                continue
            size, start, n = int(found[i + 1]), int(found[i + 2]), int(found[i + 3])
            out.append((rank + 1, size, _lines(found[i + 4 : i + 4 + 2 * n], start + 1)))
            i += 4 + 2 * n
        return out

    async def line_of(self, user_id: int) -> RankedEntry | None:
        """The participant's entry (rank unknown: 0)."""
        row = await self.redis.hget(self.keys.rows, str(user_id))
        return RankedEntry.from_board(0, user_id, row) if row else None

    async def groups(self, kind: str, offset: int, limit: int) -> tuple[int, list[tuple[str, int]]]:
        """(number of groups, [(name, participants)]) most participants first, then by group key;
        the name is a spelling typed by one of them (its group_key is the group's)."""
        key = self.keys.units if kind == "unit" else self.keys.provinces
        pipe = self.redis.pipeline(transaction=False)
        pipe.zcard(key)
        pipe.zrange(key, offset, offset + limit - 1, withscores=True)
        total, items = await pipe.execute()
        prefix = "u:" if kind == "unit" else "p:"
        typed = await self.redis.hmget(self.keys.names, [prefix + name for name, _ in items]) if items else []
        return total, [(shown or name, -int(score)) for (name, score), shown in zip(items, typed)]

    async def members(self, scope: Scope = ALL) -> list[str]:
        """Every member in board order (tests, rebuild checks)."""
        return await self.redis.zrange(scope.key(self.keys), 0, -1)


# --- connection --------------------------------------------------------------------------------
# Which Redis holds the leaderboards.
#
# By default the app's one Redis (REDIS_URL, or the embedded one). A national contest can move the
# boards to their own Redis or to a Redis Cluster (LEADERBOARD_REDIS_URL, LEADERBOARD_REDIS_CLUSTER):
# every key of a round carries the hash tag `{r<id>}` (above), so each round lives in one slot
# and its Lua scripts stay atomic, while different rounds spread over the cluster.


_OPTIONS = dict(decode_responses=True, socket_connect_timeout=2, socket_timeout=5)


def create_board_redis(settings: Settings, default):
    """The boards' own client, on LEADERBOARD_REDIS_URL or else on the app's Redis.

    Own, even on the app's Redis, for its pool: a blocking pool, so that in a burst of submits a
    board update waits a moment for a connection instead of failing (redis-py's default pool
    raises "Too many connections" at once, and the board would miss a submit until a rebuild)."""
    from redis.asyncio import BlockingConnectionPool, Redis

    from app.core.redis import redis_url

    size = settings.leaderboard_redis_max_connections
    if settings.leaderboard_redis_url and settings.leaderboard_redis_cluster:
        from redis.asyncio.cluster import RedisCluster

        return RedisCluster.from_url(settings.leaderboard_redis_url, max_connections=size, **_OPTIONS)
    url = settings.leaderboard_redis_url or redis_url(settings)
    pool = BlockingConnectionPool.from_url(
        url, max_connections=size, timeout=10, health_check_interval=30, retry_on_timeout=True, **_OPTIONS
    )
    return Redis.from_pool(pool)  # closes the pool with the client
