"""In-progress attempts in Redis: what every answer save and every resume reads.

The database stays the record: an answer is acknowledged only after it is committed there, and
this cache can vanish (Redis restart, flush, eviction) at any time, to be refilled from the
database on the next touch. One key per attempt (a hash), so under Redis Cluster attempts spread
evenly over the slots.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from redis.asyncio import Redis

from app.attempts.models import Attempt


def attempt_key(attempt_id: int) -> str:
    return f"att:{attempt_id}"


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _dt(ms: str | int) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, tz=UTC)


@dataclass
class AttemptState:
    id: int
    round_id: int
    user_id: int
    seq: int
    status: str
    started_at: datetime
    deadline: datetime
    paper: list  # [[question_id, [option_id, ...]], ...]
    prediction: int | None
    answers: dict[int, int] = field(default_factory=dict)  # question id -> option id

    def options_of(self, question_id: int) -> list[int] | None:
        for qid, option_ids in self.paper:
            if qid == question_id:
                return option_ids
        return None

    @classmethod
    def from_row(cls, attempt: Attempt, answers: dict[int, int]) -> AttemptState:
        return cls(
            attempt.id,
            attempt.round_id,
            attempt.user_id,
            attempt.seq,
            attempt.status,
            attempt.started_at,
            attempt.deadline,
            attempt.paper,
            attempt.prediction,
            answers,
        )


# Fill without overwriting: an answer saved while the fill was reading the database is newer
# than what the fill read, so existing fields win. The fields come as ONE argument, a JSON array
# of strings [field, value, ...]: a paper's ~60 arguments each cost redis-py's command packing
# more CPU (a copy of the growing buffer per argument) than orjson and cjson spend on the lot.
_FILL = """
local kv = cjson.decode(ARGV[1])
for i = 1, #kv - 1, 2 do redis.call('HSETNX', KEYS[1], kv[i], kv[i + 1]) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
"""
# Only touch a cached attempt: writing into a missing key would create a partial hash.
SET_IF_CACHED = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return 1
end
return 0
"""


class AttemptCache:
    def __init__(self, redis: Redis, ttl_seconds: int):
        self.redis = redis
        self.ttl = ttl_seconds
        self._fill = redis.register_script(_FILL)
        self._set_if_cached = redis.register_script(SET_IF_CACHED)

    async def get(self, attempt_id: int) -> AttemptState | None:
        return self.parse(attempt_id, await self.redis.hgetall(attempt_key(attempt_id)))

    @staticmethod
    def parse(attempt_id: int, data: dict) -> AttemptState | None:
        """The state from the whole hash; None if the attempt is not cached."""
        if "uid" not in data:
            return None
        answers = {int(k[2:]): int(v) for k, v in data.items() if k.startswith("a:")}
        prediction = data.get("pred")
        return AttemptState(
            id=attempt_id,
            round_id=int(data["rid"]),
            user_id=int(data["uid"]),
            seq=int(data["seq"]),
            status=data["st"],
            started_at=_dt(data["sa"]),
            deadline=_dt(data["dl"]),
            paper=orjson.loads(data["paper"]),
            prediction=int(prediction) if prediction not in (None, "") else None,
            answers=answers,
        )

    @staticmethod
    def resume_read(attempt_id: int) -> tuple:
        """The Redis command that reads the whole cached attempt (`parse` reads its reply)."""
        return ("HGETALL", attempt_key(attempt_id))

    @staticmethod
    def save_read(attempt_id: int, question_id: int) -> tuple:
        """The Redis command that reads what an answer save needs, and nothing more: the owner,
        status, times and this one question's options (not the whole paper and every answer)."""
        return ("HMGET", attempt_key(attempt_id), "uid", "rid", "seq", "st", "sa", "dl", f"q:{question_id}")

    @staticmethod
    def parse_save_read(attempt_id: int, question_id: int, values: list | None) -> AttemptState | None:
        """The state for a save from `save_read`'s reply: its paper holds only that question, its
        answers are not read. None when the attempt is not cached, or the question is not in its
        paper (or the entry predates the per-question fields): the caller then reads it all."""
        if not values:
            return None
        uid, rid, seq, status, started, deadline, options = values
        if uid is None or options is None:
            return None
        return AttemptState(
            attempt_id,
            int(rid),
            int(uid),
            int(seq),
            status,
            _dt(started),
            _dt(deadline),
            [[question_id, [int(o) for o in options.split(",")]]],
            None,
        )

    _SUBMIT_FIELDS = ("uid", "rid", "seq", "st", "sa", "dl", "pred")

    @staticmethod
    def submit_read(attempt_id: int) -> tuple:
        """The Redis command that reads what a submit needs: no paper, no answers (grading reads
        the database)."""
        return ("HMGET", attempt_key(attempt_id), *AttemptCache._SUBMIT_FIELDS)

    @staticmethod
    def parse_submit_read(attempt_id: int, values: list | None) -> AttemptState | None:
        """The state for a submit from `submit_read`'s reply (its paper and answers left empty);
        None when the attempt is not cached."""
        if not values or values[0] is None:
            return None
        uid, rid, seq, status, started, deadline, prediction = values
        return AttemptState(
            attempt_id,
            int(rid),
            int(uid),
            int(seq),
            status,
            _dt(started),
            _dt(deadline),
            [],
            int(prediction) if prediction not in (None, "") else None,
        )

    @staticmethod
    def fields(state: AttemptState) -> list[str]:
        """The hash's fields and values, flat, as strings (what `put` writes)."""
        fields = [
            "uid",
            str(state.user_id),
            "rid",
            str(state.round_id),
            "seq",
            str(state.seq),
            "st",
            state.status,
            "sa",
            str(_ms(state.started_at)),
            "dl",
            str(_ms(state.deadline)),
            "paper",
            orjson.dumps(state.paper).decode(),
            "pred",
            "" if state.prediction is None else str(state.prediction),
        ]
        for qid, option_ids in state.paper:  # what a save reads (save_read)
            fields += [f"q:{qid}", ",".join(map(str, option_ids))]
        for qid, oid in state.answers.items():
            fields += [f"a:{qid}", str(oid)]
        return fields

    async def put(self, state: AttemptState, *also: tuple) -> None:
        """Caches the attempt (without overwriting fields already there). `also`: other commands
        sent in the same round trip (e.g. the waiting room's "opened" bookkeeping)."""
        packed = orjson.dumps(self.fields(state))
        if not also:
            await self._fill(keys=[attempt_key(state.id)], args=[packed, self.ttl])
            return
        # EVAL with the script's text: a pipeline of registered scripts first asks Redis whether
        # it knows them (SCRIPT EXISTS), one more round trip.
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.execute_command("EVAL", _FILL, 1, attempt_key(state.id), packed, self.ttl)
            for command in also:
                pipe.execute_command(*command)
            await pipe.execute()

    async def set_answer(self, attempt_id: int, question_id: int, option_id: int) -> None:
        await self._set_if_cached(keys=[attempt_key(attempt_id)], args=[f"a:{question_id}", option_id])

    async def set_prediction(self, attempt_id: int, prediction: int) -> None:
        await self._set_if_cached(keys=[attempt_key(attempt_id)], args=["pred", prediction])

    async def forget(self, attempt_id: int) -> None:
        await self.redis.delete(attempt_key(attempt_id))
