"""How a live entry becomes a Redis sorted-set (score, member) without losing the order.

Redis scores are IEEE doubles: integers are exact only below 2**53. The live order has four keys
(correct, time_ms, submitted_at, attempt id), about 6 + 22 + 41 + 31 bits: they cannot all share
one score. So the order is split in two levels:

- score  = (65535 − correct) · 2**32 + time_ms: an integer below 2**48, hence exact as a double
  (and printed back exactly by Redis, which formats scores with 17 significant digits);
- member = "<submitted_ms, 15 digits>:<attempt id, 12 digits>:<user id>". Redis orders members of
  equal score by their bytes (memcmp). Zero-padded fixed-width decimals compare bytewise exactly
  as the numbers do, so equal scores fall back to earlier submission, then lower attempt id.
  Attempt ids are unique, so the comparison never reaches the user id.

The final board (after T is known) needs no such care: its score is the final position itself.
"""

from __future__ import annotations

CORRECT_BITS = 16
TIME_BITS = 32
MAX_CORRECT = (1 << CORRECT_BITS) - 1
MAX_TIME_MS = (1 << TIME_BITS) - 1
MAX_SUBMITTED_MS = 10**15 - 1  # year 33658
MAX_ATTEMPT_ID = 10**12 - 1


def live_score(correct: int, time_ms: int) -> int:
    if not 0 <= correct <= MAX_CORRECT:
        raise ValueError(f"correct out of range: {correct}")
    if not 0 <= time_ms <= MAX_TIME_MS:
        raise ValueError(f"time_ms out of range: {time_ms}")
    return ((MAX_CORRECT - correct) << TIME_BITS) | time_ms


def decode_live_score(score: int | float) -> tuple[int, int]:
    """(correct, time_ms) back from a score read from Redis."""
    value = int(score)
    return MAX_CORRECT - (value >> TIME_BITS), value & MAX_TIME_MS


def live_member(submitted_ms: int, attempt_id: int, user_id: int) -> str:
    if not 0 <= submitted_ms <= MAX_SUBMITTED_MS:
        raise ValueError(f"submitted_ms out of range: {submitted_ms}")
    if not 0 <= attempt_id <= MAX_ATTEMPT_ID:
        raise ValueError(f"attempt id out of range: {attempt_id}")
    return f"{submitted_ms:015d}:{attempt_id:012d}:{user_id}"


def final_member(position: int, user_id: int) -> str:
    return f"{position:012d}:{user_id}"


def user_of_member(member: str) -> int:
    return int(member.rsplit(":", 1)[1])
