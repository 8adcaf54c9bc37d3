"""PostgreSQL's short ways for opening and submitting an attempt: raw asyncpg statements.

Each SQLAlchemy statement cost about a millisecond of app CPU (compilation cache, parameter
processing, the ORM, greenlet hops), more than the database's own work; an open made five of them
and a submit four (README, "What profiling found"). Here the same rules run as prepared
statements straight on the asyncpg connection (as the answer save does, app/attempts/answers.py):

- opening is ONE statement: it checks the round's window, the person's attempts (the limit, none
  in progress), that they are not the contest's staff and that the bank is still the one the
  paper was drawn from, and inserts the attempt, its deadline computed from the round's row.
  Anything unusual (a check fails, another tab won the race, the connection was lost) inserts
  nothing and returns None: the caller then takes the portable path, which gives the precise
  answer (or the attempt already running).
- submitting closes and grades in one call of a PL/pgSQL function (migration 0014): two
  statements like the portable path (the grading one starts after the closing one holds the row
  lock, so its snapshot has every answer a concurrent save committed before the close), in one
  round trip and one transaction, returning what the live board shows too.

SQLite (the embedded default) never comes here: the portable SQLAlchemy path in service.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from asyncpg import exceptions as pg
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import greenlet_spawn

from app.attempts.models import IN_PROGRESS
from app.staff.roles import ADMIN

CONNECTION_LOST = (
    OSError,
    pg.InterfaceError,
    pg.PostgresConnectionError,
    pg.AdminShutdownError,
    pg.CrashShutdownError,
    pg.CannotConnectNowError,
)


class ConnectionLost(Exception):
    """The pooled connection was dead; it has been discarded. Nothing is known to be written."""


class NotMigrated(Exception):
    """The database lacks migration 0014's function (new code running before `migrate`, during a
    deploy): nothing was written, the caller takes the portable path."""


def is_postgres(engine: Any) -> bool:
    return isinstance(engine, AsyncEngine) and engine.dialect.name == "postgresql"


@contextlib.asynccontextmanager
async def driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """The asyncpg connection of a pooled connection, outside any transaction SQLAlchemy knows
    of (a statement is its own transaction unless the caller opens one on the driver). A dead
    connection is discarded and reported as ConnectionLost.
    Checked out of the engine's pool itself, not through `engine.connect()`: its Connection and
    the greenlet hops around it cost twice the CPU (~55 against ~25 µs), for nothing a raw
    statement uses. The pool's own steps (pre-ping, reset, closing an overflow connection) may
    wait on the database, so they run in a greenlet as SQLAlchemy's would."""
    pooled = await greenlet_spawn(engine.sync_engine.pool.connect)
    try:
        raw = pooled.driver_connection
        assert raw is not None  # None only once a connection is closed; this one is checked out
        try:
            yield raw
        except Exception as exc:
            if isinstance(exc, CONNECTION_LOST) or raw.is_closed():
                await greenlet_spawn(pooled.invalidate, exc)
                raise ConnectionLost() from exc
            raise
    finally:
        await greenlet_spawn(pooled.close)


# $1 round, $2 user, $3 contest, $4 questions per attempt, $5 quotas (JSON text), $6 now (the
# window check), $7 started_at (now to the millisecond), $8 paper (JSON text), $9 its length,
# $10..$13 the bank's signature the paper was drawn under (app/attempts/pool.py).
# The round's drawing parameters ($3..$5) come from the per-process round cache: the statement
# inserts only if the row still has them, so a paper is never drawn under stale settings.
_OPEN = f"""
WITH r AS (
    SELECT id, close_at, attempts_allowed, time_limit_seconds FROM rounds
    WHERE id = $1::int AND contest_id = $3::int AND questions_per_attempt = $4::int AND quotas::jsonb = $5::text::jsonb
      AND open_at <= $6::timestamptz AND $6::timestamptz < close_at
), mine AS (
    SELECT count(*) AS n, coalesce(bool_or(status = '{IN_PROGRESS}'), false) AS running
    FROM attempts WHERE round_id = $1 AND user_id = $2
), bank AS (
    SELECT count(*) AS questions, coalesce(sum(CASE WHEN retired THEN 0 ELSE 1 END), 0) AS active,
           max(id) AS top, max(retired_at) AS retired_at
    FROM questions WHERE contest_id = $3
)
INSERT INTO attempts (round_id, user_id, seq, status, started_at, deadline, paper, total, auto_submitted)
SELECT r.id, $2::int, mine.n + 1, '{IN_PROGRESS}', $7::timestamptz,
       date_trunc('milliseconds', least($7::timestamptz + r.time_limit_seconds * interval '1 second', r.close_at)),
       $8::text::json, $9::int, false
FROM r, mine, bank
WHERE mine.n < r.attempts_allowed AND NOT mine.running
  AND bank.questions = $10::bigint AND bank.active = $11::bigint
  AND bank.top IS NOT DISTINCT FROM $12::int AND bank.retired_at IS NOT DISTINCT FROM $13::timestamptz
  AND NOT EXISTS (SELECT 1 FROM staff_assignments s WHERE s.user_id = $2 AND s.contest_id = $3 AND s.role <> '')
  AND NOT EXISTS (SELECT 1 FROM users u WHERE u.id = $2 AND u.role = '{ADMIN}')
ON CONFLICT (round_id, user_id, seq) DO NOTHING
RETURNING id, seq, deadline
"""


async def open_attempt(
    engine: AsyncEngine,
    *,
    round_id: int,
    user_id: int,
    contest_id: int,
    questions_per_attempt: int,
    quotas_json: str,
    now: datetime,
    started_at: datetime,
    paper_json: str,
    total: int,
    signature: tuple,
) -> tuple[int, int, datetime] | None:
    """(id, seq, deadline) of the attempt inserted, or None when any check says no (the caller
    then takes the portable path, which tells why or hands back the attempt in progress)."""
    try:
        async with driver(engine) as conn:
            row = await conn.fetchrow(
                _OPEN,
                round_id,
                user_id,
                contest_id,
                questions_per_attempt,
                quotas_json,
                now,
                started_at,
                paper_json,
                total,
                *signature,
            )
    except (ConnectionLost, pg.IntegrityConstraintViolationError):
        return None  # e.g. an account deleted meanwhile: the portable path says what happened
    return None if row is None else (row[0], row[1], row[2])


# A submit's close and grading (migration 0014's PL/pgSQL function): the same two statements as
# the portable path, the second with a fresh snapshot taken once the first holds the row lock (so
# it counts every answer a concurrent save committed before the close), in ONE round trip and its
# own transaction (no BEGIN and COMMIT round trips). It also returns the owner's display fields
# and whether they are excluded from the round's results: what the live board's update would
# otherwise read again.
_CLOSE = "SELECT * FROM close_attempt_on_time($1, $2, $3, $4, $5)"
CLOSED_COLUMNS = (
    "id",
    "round_id",
    "user_id",
    "seq",
    "status",
    "started_at",
    "deadline",
    "prediction",
    "submitted_at",
    "auto_submitted",
    "correct",
    "total",
    "time_ms",
)
# What the function returns after the closed row's columns (see ClosedFigures).
_OWNER_COLUMNS = ("full_name", "unit", "province", "district", "commune", "excluded")


async def close_on_time(
    engine: AsyncEngine,
    attempt_id: int,
    *,
    submitted_at: datetime,
    prediction: int | None,
    auto: bool,
    on_time_since: datetime,
) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """service._close for a submit, committed: (the closed row's columns, the figures the live
    board shows: the row's and its owner's), or None if the attempt was already closed or its
    stored deadline is before `on_time_since` (nothing written). Raises ConnectionLost if the
    connection died (then whether it committed is unknown: the caller retries idempotently),
    NotMigrated if the function is not there yet (nothing written)."""
    try:
        async with driver(engine) as conn:
            row = await conn.fetchrow(_CLOSE, attempt_id, submitted_at, auto, prediction, on_time_since)
    except pg.UndefinedFunctionError as exc:
        raise NotMigrated() from exc
    if row is None:
        return None
    values = tuple(row)
    closed = dict(zip(CLOSED_COLUMNS, values[: len(CLOSED_COLUMNS)], strict=True))
    figures = {**closed, **dict(zip(_OWNER_COLUMNS, values[len(CLOSED_COLUMNS) :], strict=True))}
    return closed, figures
