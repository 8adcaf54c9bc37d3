"""The timed attempt: open, resume, save answers, submit, and close at the deadline.

Rules enforced here, whatever the client does:
- the deadline is fixed by the server when the attempt opens (capped at the round's close);
- an answer is acknowledged only once it is committed to the database;
- after deadline + grace nothing is accepted and the attempt is closed with the answers saved
  (checked against the deadline stored in the database, so a stale cached deadline cannot
  stretch it);
- no attempt outlives its round: its deadline never passes the round's close, also when the
  organizer moves the close earlier (`cap_open_deadlines`), and closing the round closes every
  attempt still open (`close_open_attempts`);
- at most `attempts_allowed` attempts per participant per round, one in progress at a time;
- submitting is idempotent: a repeated submit returns the stored result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import and_, bindparam, case, func, literal, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import defer

from app.attempts import statements
from app.attempts.answers import AnswerWriter
from app.attempts.cache import AttemptCache, AttemptState
from app.attempts.models import IN_PROGRESS, SUBMITTED, Attempt, AttemptAnswer
from app.attempts.paper import BankTooSmall, draw_questions, paper_rng
from app.attempts.pool import SIGNATURE as BANK
from app.attempts.pool import pool_cache
from app.attempts.tokens import OptionTokens
from app.contests.service import get_round, round_cache
from app.core.clock import ms_between, truncate_ms, utcnow
from app.core.db import UTCDateTime, is_unique_violation
from app.core.errors import AppError, Conflict, Invalid, NotFound
from app.core.observability import ANSWERS, SUBMISSIONS
from app.core.runtime import AttemptClosedHook, Runtime, nobody_listens
from app.questions.models import Option
from app.questions.service import content_cache
from app.staff.conflicts import ensure_not_contest_staff


@dataclass
class AttemptDeps:
    db: AsyncSession
    cache: AttemptCache
    tokens: OptionTokens
    grace: timedelta
    answers: AnswerWriter | None = None  # the worker's group commit (Runtime.answer_writer)
    # "This attempt closed" (after the commit): the runtime wires it to the live leaderboard, so
    # attempts know nothing of boards. Never raises.
    closed: AttemptClosedHook = field(default=nobody_listens)

    @classmethod
    def of(cls, runtime: Runtime, db: AsyncSession) -> AttemptDeps:
        """The one way to build them: from the app's runtime (routes, the sweep, the CLI)."""
        return cls(
            db=db,
            cache=runtime.attempt_cache,
            tokens=runtime.option_tokens,
            grace=timedelta(seconds=runtime.settings.deadline_grace_seconds),
            answers=runtime.answer_writer,
            closed=runtime.attempt_closed,
        )


class AttemptClosed(Conflict):
    pass


def _closed_error(auto: bool) -> AttemptClosed:
    if auto:
        return AttemptClosed(
            "attempt_closed", "Đã hết giờ làm bài: bài thi đã được tự động nộp với các câu đã trả lời."
        )
    return AttemptClosed("attempt_closed", "Bài thi này đã được nộp.")


# ---------------------------------------------------------------------------------------------
# Loading


async def _answers_from_db(db: AsyncSession, attempt_id: int) -> dict[int, int]:
    rows = await db.execute(
        select(AttemptAnswer.question_id, AttemptAnswer.option_id).where(AttemptAnswer.attempt_id == attempt_id)
    )
    return {r.question_id: r.option_id for r in rows}


async def _state_from_db(deps: AttemptDeps, attempt: Attempt) -> AttemptState:
    state = AttemptState.from_row(attempt, await _answers_from_db(deps.db, attempt.id))
    if state.status == IN_PROGRESS:
        await deps.cache.put(state)
    return state


async def load_state(
    deps: AttemptDeps, user_id: int, attempt_id: int, cached: AttemptState | None = None
) -> AttemptState:
    """The attempt as its owner may see it; closes it first if its deadline has passed.
    `cached`: the cache entry, when the caller has just read it (None: read it here)."""
    state = cached or await deps.cache.get(attempt_id)
    if state is None:
        attempt = await deps.db.get(Attempt, attempt_id)
        if attempt is None or attempt.user_id != user_id:
            raise NotFound("attempt_not_found", "Không tìm thấy lượt thi.")
        state = await _state_from_db(deps, attempt)
    elif state.user_id != user_id:
        # Same answer as a missing attempt: ids of other people's attempts reveal nothing.
        raise NotFound("attempt_not_found", "Không tìm thấy lượt thi.")
    if state.status == IN_PROGRESS and utcnow() > state.deadline + deps.grace:
        await close_expired_attempt(deps, state.id)
        return await _reload(deps, attempt_id)
    return state


async def _reload(deps: AttemptDeps, attempt_id: int) -> AttemptState:
    await deps.cache.forget(attempt_id)
    deps.db.expire_all()
    attempt = await deps.db.get(Attempt, attempt_id)
    assert attempt is not None  # the caller has just read it, and attempts are never deleted
    return await _state_from_db(deps, attempt)


# ---------------------------------------------------------------------------------------------
# Opening


_MY_ATTEMPTS_AND_BANK = (
    select(BANK.c.questions, BANK.c.active, BANK.c.top, BANK.c.retired_at, Attempt)
    .select_from(BANK)
    .outerjoin(Attempt, and_(Attempt.round_id == bindparam("round_id"), Attempt.user_id == bindparam("user_id")))
    .order_by(Attempt.seq)
)


async def _open_in_one_statement(
    deps: AttemptDeps, user_id: int, round_id: int, also: Sequence[tuple]
) -> AttemptState | None:
    """PostgreSQL, the usual case (app/attempts/statements.py): the paper drawn from the pool kept
    in memory under the round's cached settings, then one statement that checks every rule
    against the database and inserts. None when anything is unusual (no pool in memory yet, a
    rule says no, a race): the caller's portable path then decides."""
    db = deps.db
    round_ = await round_cache(db).get(db, round_id)
    pools = pool_cache(db)
    cached = pools.cached(round_.contest_id)
    if cached is None:
        return None
    signature, pool = cached
    rng = paper_rng()
    try:
        question_ids = draw_questions(pool, round_.questions_per_attempt, round_.quotas or [], rng)
    except BankTooSmall:
        return None  # the portable path says so, or first that the round is not open
    contents = await content_cache(db).get_many(db, question_ids)
    if db.in_transaction():
        await db.rollback()  # a content cache miss read them: its connection goes back to the pool
    paper = [[qid, pools.order_options(qid, contents[qid].options, rng)] for qid in question_ids]
    now = utcnow()
    started = truncate_ms(now)
    opened = await statements.open_attempt(
        cast(AsyncEngine, db.bind),
        round_id=round_id,
        user_id=user_id,
        contest_id=round_.contest_id,
        questions_per_attempt=round_.questions_per_attempt,
        quotas_json=orjson.dumps(round_.quotas or []).decode(),
        now=now,
        started_at=started,
        paper_json=orjson.dumps(paper).decode(),
        total=len(paper),
        signature=signature,
    )
    if opened is None:
        return None
    attempt_id, seq, deadline = opened
    state = AttemptState(attempt_id, round_id, user_id, seq, IN_PROGRESS, started, deadline, paper, None, {})
    await deps.cache.put(state, *also)
    return state


async def open_attempt(
    deps: AttemptDeps, user_id: int, round_id: int, also: Sequence[tuple] = ()
) -> tuple[AttemptState, bool]:
    """Returns (attempt, created). An attempt already in progress is returned instead of a new one.
    `also`: Redis commands to send with the new attempt's cache entry, in the same round trip
    (the waiting room's "opened" bookkeeping)."""
    db = deps.db
    if statements.is_postgres(db.bind):
        state = await _open_in_one_statement(deps, user_id, round_id, also)
        if state is not None:
            return state, True
    round_ = await get_round(db, round_id)
    now = utcnow()
    if now < round_.open_at:
        raise Conflict("round_not_open", "Đợt thi chưa mở. Vui lòng quay lại khi đợt thi bắt đầu.")
    if now >= round_.close_at:
        raise Conflict("round_closed", "Đợt thi đã kết thúc.")
    await ensure_not_contest_staff(db, user_id, round_.contest_id)  # contest rules: staff may not take part
    # The person's attempts in the round and the bank's signature (is the pool kept in memory
    # still the bank?) in one round trip.
    rows = (
        await db.execute(
            _MY_ATTEMPTS_AND_BANK, {"contest_id": round_.contest_id, "round_id": round_id, "user_id": user_id}
        )
    ).all()
    signature = tuple(rows[0][:4])
    attempts = [row[4] for row in rows if row[4] is not None]
    for attempt in attempts:
        if attempt.status == IN_PROGRESS:
            if now <= attempt.deadline + deps.grace:
                return await _state_from_db(deps, attempt), False
            await close_expired_attempt(deps, attempt.id)
    if len(attempts) >= round_.attempts_allowed:
        raise Conflict("attempts_exhausted", f"Bạn đã dùng hết {round_.attempts_allowed} lượt thi của đợt này.")

    pools = pool_cache(db)
    rng = paper_rng()
    question_ids = draw_questions(
        await pools.pool(db, round_.contest_id, signature), round_.questions_per_attempt, round_.quotas or [], rng
    )
    contents = await content_cache(db).get_many(db, question_ids)
    paper = [[qid, pools.order_options(qid, contents[qid].options, rng)] for qid in question_ids]
    now = truncate_ms(now)
    deadline = truncate_ms(min(now + timedelta(seconds=round_.time_limit_seconds), round_.close_at))
    attempt = Attempt(
        round_id=round_id,
        user_id=user_id,
        seq=len(attempts) + 1,
        status=IN_PROGRESS,
        started_at=now,
        deadline=deadline,
        paper=paper,
        total=len(paper),
    )
    db.add(attempt)
    try:
        await db.commit()
    except IntegrityError as exc:
        # Another tab or device opened one at the same moment: it won, hand back its attempt.
        await db.rollback()
        if not is_unique_violation(exc):
            raise
        winner = await db.scalar(
            select(Attempt).where(
                Attempt.round_id == round_id, Attempt.user_id == user_id, Attempt.status == IN_PROGRESS
            )
        )
        if winner is None:
            raise Conflict(
                "attempts_exhausted", f"Bạn đã dùng hết {round_.attempts_allowed} lượt thi của đợt này."
            ) from exc
        return await _state_from_db(deps, winner), False
    state = AttemptState.from_row(attempt, {})
    await deps.cache.put(state, *also)
    return state, True


# ---------------------------------------------------------------------------------------------
# Answering


async def save_answer(
    deps: AttemptDeps,
    user_id: int,
    attempt_id: int,
    question_id: int,
    option_token: str,
    cached: AttemptState | None = None,
) -> tuple[AttemptState, datetime]:
    state = await load_state(deps, user_id, attempt_id, cached)
    if state.status != IN_PROGRESS:
        raise _closed_error(state.status == SUBMITTED and utcnow() > state.deadline)
    candidates = state.options_of(question_id)
    if candidates is None:
        raise Invalid("question_not_in_attempt", "Câu hỏi này không thuộc lượt thi của bạn.")
    option_id = deps.tokens.resolve(attempt_id, candidates, option_token)
    if option_id is None:
        raise Invalid("invalid_option", "Phương án trả lời không hợp lệ.")
    now = truncate_ms(utcnow())
    if deps.db.in_transaction():
        await deps.db.rollback()  # a cache refill's read is done: hand its connection back while we wait
    # Acknowledged only once committed, in this worker's next batch; the writer also updates (or,
    # for a closed attempt, drops) the cached attempt before it answers.
    writer = deps.answers
    if not writer:
        engine = deps.db.bind
        assert isinstance(engine, AsyncEngine)  # the app's sessions are bound to its engine (app.core.db)
        writer = AnswerWriter(engine, deps.cache, grace=deps.grace)
    if not await writer.save(attempt_id, question_id, option_id, now):
        raise _closed_error(True)
    ANSWERS.inc()
    state.answers[question_id] = option_id
    return state, now


async def save_prediction(deps: AttemptDeps, user_id: int, attempt_id: int, prediction: int) -> AttemptState:
    state = await load_state(deps, user_id, attempt_id)
    if state.status != IN_PROGRESS:
        raise _closed_error(utcnow() > state.deadline)
    # An UPDATE's result is a CursorResult (it has rowcount); the stubs type execute() as Result.
    result = cast(
        CursorResult[Any],
        await deps.db.execute(
            update(Attempt)
            .where(Attempt.id == attempt_id, Attempt.status == IN_PROGRESS, Attempt.deadline >= utcnow() - deps.grace)
            .values(prediction=prediction)
        ),
    )
    await deps.db.commit()
    if result.rowcount == 0:
        await deps.cache.forget(attempt_id)
        raise _closed_error(True)
    await deps.cache.set_prediction(attempt_id, prediction)
    state.prediction = prediction
    return state


# ---------------------------------------------------------------------------------------------
# Closing


async def _close(
    db: AsyncSession,
    attempt_id: int,
    *,
    submitted_at: datetime,
    prediction: int | None,
    auto: bool,
    on_time_since: datetime | None = None,
) -> Attempt | None:
    """Closes and grades an attempt in the caller's transaction; returns it as closed. None if it
    was already closed, or (with `on_time_since`) if its deadline, as stored, is before that
    instant. The submit time never exceeds the stored deadline."""
    condition = [Attempt.id == attempt_id, Attempt.status == IN_PROGRESS]
    if on_time_since is not None:
        condition.append(Attempt.deadline >= on_time_since)
    at = case((Attempt.deadline < submitted_at, Attempt.deadline), else_=literal(submitted_at, UTCDateTime()))
    values = {"status": SUBMITTED, "submitted_at": at, "auto_submitted": auto}
    if prediction is not None:
        values["prediction"] = prediction
    row = (
        await db.execute(
            update(Attempt).where(*condition).values(**values).returning(Attempt.started_at, Attempt.submitted_at)
        )
    ).first()
    if row is None:
        return None
    # Graded by a second statement, not a subquery of the first: this one starts once the first
    # holds the row lock, so its snapshot has every answer committed before the close (a save
    # that held the attempt FOR SHARE was waited for), which a subquery of the first, evaluated
    # on that statement's earlier snapshot, could miss. It hands back the closed row (no re-read).
    correct = (
        select(func.count())
        .select_from(AttemptAnswer)
        .join(Option, Option.id == AttemptAnswer.option_id)
        .where(AttemptAnswer.attempt_id == attempt_id, Option.is_correct.is_(True))
        .scalar_subquery()
    )
    return await db.scalar(
        update(Attempt)
        .where(Attempt.id == attempt_id)
        .values(correct=correct, time_ms=ms_between(row.started_at, row.submitted_at))
        .returning(Attempt)
        .execution_options(populate_existing=True)
    )


async def _close_on_time(
    deps: AttemptDeps,
    attempt_id: int,
    submitted_at: datetime,
    prediction: int | None,
    auto: bool,
    on_time_since: datetime,
) -> tuple[Attempt | None, dict[str, Any] | None]:
    """A submit's close and grading, committed (see `_close`): (the attempt as closed, or None;
    the figures for the live board when the statement returned them, else None). On PostgreSQL
    one call of a function (app/attempts/statements.py), the row returned as a detached Attempt."""
    db = deps.db
    if statements.is_postgres(db.bind):
        if db.in_transaction():
            await db.rollback()  # a cache refill's read is done: hand its connection back first
        try:
            closed = await statements.close_on_time(
                cast(AsyncEngine, db.bind),
                attempt_id,
                submitted_at=submitted_at,
                prediction=prediction,
                auto=auto,
                on_time_since=on_time_since,
            )
            return (None, None) if closed is None else (Attempt(**closed[0]), closed[1])
        except (statements.ConnectionLost, statements.NotMigrated):
            pass  # committed or not, unknown (or not migrated yet): the portable close below is idempotent
    attempt = await _close(
        db, attempt_id, submitted_at=submitted_at, prediction=prediction, auto=auto, on_time_since=on_time_since
    )
    await db.commit()
    return attempt, None


async def close_expired_attempt(deps: AttemptDeps, attempt_id: int) -> bool:
    """Closes an attempt at its deadline with the answers saved so far (and any saved prediction)."""
    db = deps.db
    deadline = await db.scalar(select(Attempt.deadline).where(Attempt.id == attempt_id, Attempt.status == IN_PROGRESS))
    if deadline is None or utcnow() <= deadline + deps.grace:
        return False
    closed = await _close(db, attempt_id, submitted_at=deadline, prediction=None, auto=True) is not None
    await db.commit()
    if closed:
        SUBMISSIONS.labels("deadline").inc()
    await deps.closed(db, attempt_id)  # never raises; the board can be rebuilt
    await deps.cache.forget(attempt_id)
    return closed


def timer_ran_out(state: AttemptState) -> bool:
    """Whether a client's "my countdown ran out" may count as an automatic submit: only near the
    server's deadline (a client clock or claim never moves the deadline)."""
    return utcnow() >= state.deadline - timedelta(seconds=2)


async def submit(
    deps: AttemptDeps,
    user_id: int,
    attempt_id: int,
    prediction: int | None,
    prediction_required: bool,
    auto: bool = False,
    cached: AttemptState | None = None,
) -> Attempt:
    """Submits (idempotently). `auto` marks the page's own submit when its countdown ran out.
    `cached`: the attempt as `load_state` gave it to the caller just now (None: read it here)."""
    state = cached or await load_state(deps, user_id, attempt_id)
    db = deps.db
    if state.status == IN_PROGRESS:
        if prediction is None and state.prediction is None and prediction_required:
            raise Invalid("prediction_required", "Vui lòng trả lời câu hỏi dự đoán trước khi nộp bài.")
        now = truncate_ms(utcnow())
        # Within the grace period a late click still counts, but time taken never exceeds the limit.
        closed, figures = await _close_on_time(
            deps, attempt_id, min(now, state.deadline), prediction, auto, now - deps.grace
        )
        if not closed:
            # Its stored deadline passed (the round's close was moved earlier): closed at that
            # deadline with the answers saved, like any late attempt.
            await close_expired_attempt(deps, attempt_id)
        if closed:
            SUBMISSIONS.labels("timer" if auto else "manual").inc()
        await deps.closed(db, attempt_id, figures)  # never raises; the board can be rebuilt
        await deps.cache.forget(attempt_id)
        if closed is not None and not sa_inspect(closed).expired:
            return closed  # the row as the closing statement returned it
    db.expire_all()
    attempt = await db.get(Attempt, attempt_id)
    assert attempt is not None  # load_state found it above, and attempts are never deleted
    return attempt


async def cap_open_deadlines(db: AsyncSession, round_id: int, close_at: datetime) -> list[int]:
    """The organizer moved the round's close to `close_at`: every attempt still open whose deadline
    is later now ends at `close_at` (caller's transaction). Its owner keeps what was saved and may
    go on answering until then. Returns their ids: after the commit their cached copies must go
    (`forget_cached`), so the next save or submit reads the new deadline."""
    return list(
        (
            await db.scalars(
                update(Attempt)
                .where(Attempt.round_id == round_id, Attempt.status == IN_PROGRESS, Attempt.deadline > close_at)
                .values(deadline=close_at)
                .returning(Attempt.id)
            )
        ).all()
    )


async def close_open_attempts(db: AsyncSession, round_id: int, close_at: datetime) -> list[int]:
    """Closing (freezing) a round: every attempt of it still in progress is closed and graded with
    the answers saved, at its deadline (never after `close_at`), in the caller's transaction, so
    the frozen ranking sees them. Returns their ids (after the commit: `record_and_forget`)."""
    rows = (
        await db.execute(
            select(Attempt.id, Attempt.deadline)
            .where(Attempt.round_id == round_id, Attempt.status == IN_PROGRESS)
            .order_by(Attempt.id)
        )
    ).all()
    closed = []
    for attempt_id, deadline in rows:
        if await _close(db, attempt_id, submitted_at=min(deadline, close_at), prediction=None, auto=True) is not None:
            closed.append(attempt_id)
    return closed


async def forget_cached(deps: AttemptDeps, attempt_ids: list[int]) -> None:
    for attempt_id in attempt_ids:
        await deps.cache.forget(attempt_id)


async def record_and_forget(deps: AttemptDeps, attempt_ids: list[int]) -> None:
    """After attempts were closed by someone else's transaction: live board and cache follow."""
    for attempt_id in attempt_ids:
        SUBMISSIONS.labels("deadline").inc()
        await deps.closed(deps.db, attempt_id)
        await deps.cache.forget(attempt_id)


async def close_all_expired(deps: AttemptDeps, limit: int = 500) -> int:
    """The periodic sweep: closes attempts whose owners never came back after the deadline."""
    cutoff = utcnow() - deps.grace
    ids = (
        await deps.db.scalars(
            select(Attempt.id).where(Attempt.status == IN_PROGRESS, Attempt.deadline < cutoff).limit(limit)
        )
    ).all()
    await deps.db.rollback()
    closed = 0
    for attempt_id in ids:
        closed += await close_expired_attempt(deps, attempt_id)
    return closed


# ---------------------------------------------------------------------------------------------
# Results


def ranking_key(attempt: Attempt) -> tuple:
    """The live order between attempts (domain.md without the prediction key): more correct,
    shorter time, earlier submission, lower id."""
    return (-(attempt.correct or 0), attempt.time_ms, attempt.submitted_at, attempt.id)


async def round_progress(db: AsyncSession, user_id: int, round_id: int) -> tuple[list[Attempt], Attempt | None]:
    attempts = (
        await db.scalars(
            select(Attempt).where(Attempt.round_id == round_id, Attempt.user_id == user_id).order_by(Attempt.seq)
        )
    ).all()
    submitted = [a for a in attempts if a.status == SUBMITTED]
    best = min(submitted, key=ranking_key) if submitted else None
    return list(attempts), best


async def progress_by_round(
    db: AsyncSession, user_id: int, round_ids: list[int]
) -> dict[int, tuple[list[Attempt], Attempt | None]]:
    """`round_progress` for every round of a contest page in one query (a weekly contest has a
    round per week: one query per round made the page cost grow with the contest)."""
    attempts = (
        (
            await db.scalars(
                select(Attempt)
                .options(defer(Attempt.paper))  # the page shows results, not papers (a paper is ~1 KB)
                .where(Attempt.round_id.in_(round_ids), Attempt.user_id == user_id)
                .order_by(Attempt.round_id, Attempt.seq)
            )
        ).all()
        if round_ids
        else []
    )
    progress: dict[int, tuple[list[Attempt], Attempt | None]] = {}
    for round_id in round_ids:
        mine = [a for a in attempts if a.round_id == round_id]
        submitted = [a for a in mine if a.status == SUBMITTED]
        progress[round_id] = (mine, min(submitted, key=ranking_key) if submitted else None)
    return progress


async def result_progress(
    deps: AttemptDeps, user_id: int, attempt_id: int
) -> tuple[Attempt, list[Attempt], Attempt | None] | None:
    """For the result page, in one query: the attempt, its owner's attempts in the same round
    and the best of them; None while the attempt is still in progress. One whose deadline has
    passed is closed first (as `load_state` would). Someone else's attempt is "not found"."""
    db = deps.db
    for _ in range(2):
        mine = (
            await db.scalars(
                select(Attempt)
                .options(defer(Attempt.paper))  # the result page shows results, not papers
                .where(
                    Attempt.user_id == user_id,
                    Attempt.round_id == select(Attempt.round_id).where(Attempt.id == attempt_id).scalar_subquery(),
                )
                .order_by(Attempt.seq)
                .execution_options(populate_existing=True)
            )
        ).all()
        attempt = next((a for a in mine if a.id == attempt_id), None)
        if attempt is None:
            raise NotFound("attempt_not_found", "Không tìm thấy lượt thi.")
        if attempt.status != IN_PROGRESS:
            submitted = [a for a in mine if a.status == SUBMITTED]
            return attempt, list(mine), min(submitted, key=ranking_key) if submitted else None
        if utcnow() <= attempt.deadline + deps.grace:
            return None
        await close_expired_attempt(deps, attempt_id)  # then read again, closed
    return None


def require_submitted(attempt: Attempt) -> Attempt:
    if attempt.status != SUBMITTED:
        raise AppError("attempt_in_progress", "Lượt thi chưa được nộp.", 409)
    return attempt


async def count_in_progress(db: AsyncSession) -> int | None:
    """Attempts opened and not yet closed: the `attempts_in_progress` gauge of /metrics."""
    return await db.scalar(
        select(func.count()).select_from(Attempt).where(Attempt.status == IN_PROGRESS, Attempt.deadline > utcnow())
    )
