"""Shaping attempts for the API and the pages. Nothing here may reveal which option is correct."""

from __future__ import annotations

from datetime import datetime

from app.attempts.cache import AttemptState
from app.attempts.models import Attempt
from app.attempts.schemas import AttemptOut, OptionOut, QuestionOut, ResultOut
from app.attempts.service import AttemptDeps
from app.contests.models import Round
from app.questions.service import content_cache

LABELS = "ABCDEF"


def result_out(attempt: Attempt) -> ResultOut:
    # Only a submitted attempt has a result, and a submitted attempt has its time (the
    # submitted_has_time CHECK); ResultOut would refuse None all the same.
    assert attempt.submitted_at is not None
    return ResultOut(
        attempt_id=attempt.id,
        correct=attempt.correct or 0,
        total=attempt.total,
        time_ms=attempt.time_ms or 0,
        prediction=attempt.prediction,
        submitted_at=attempt.submitted_at,
        auto_submitted=attempt.auto_submitted,
    )


async def attempt_out(
    deps: AttemptDeps, state: AttemptState, round_: Round, now: datetime, result: ResultOut | None = None
) -> AttemptOut:
    contents = await content_cache(deps.db).get_many(deps.db, [qid for qid, _ in state.paper])
    tokens = deps.tokens
    questions = []
    for number, (qid, option_ids) in enumerate(state.paper, start=1):
        content = contents[qid]
        questions.append(
            QuestionOut(
                id=qid,
                number=number,
                text=content.text,
                options=[
                    OptionOut(id=tokens.token(state.id, oid), label=LABELS[i], text=content.options[oid])
                    for i, oid in enumerate(option_ids)
                ],
            )
        )
    remaining = int((state.deadline - now).total_seconds() * 1000)
    return AttemptOut(
        attempt_id=state.id,
        round_id=state.round_id,
        seq=state.seq,
        status=state.status,
        started_at=state.started_at,
        deadline=state.deadline,
        server_time=now,
        remaining_ms=max(0, remaining) if state.status == "in_progress" else 0,
        prediction_enabled=round_.prediction_enabled,
        prediction_question=round_.prediction_question if round_.prediction_enabled else None,
        prediction=state.prediction,
        questions=questions,
        answers={str(q): tokens.token(state.id, o) for q, o in state.answers.items()},
        result=result,
    )
