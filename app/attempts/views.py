"""Shaping attempts for the API and the pages. Nothing here may reveal which option is correct."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import Response

from app.attempts.cache import AttemptState
from app.attempts.models import Attempt
from app.attempts.schemas import AttemptOut, ResultOut
from app.attempts.service import AttemptDeps
from app.contests.models import Round
from app.questions.service import content_cache

LABELS = "ABCDEF"


def result_payload(attempt: Attempt) -> dict[str, Any]:
    """ResultOut's fields as plain data (the submit route writes them with orjson)."""
    # Only a submitted attempt has a result, and a submitted attempt has its time (the
    # submitted_has_time CHECK); ResultOut would refuse None all the same.
    assert attempt.submitted_at is not None
    return {
        "attempt_id": attempt.id,
        "correct": attempt.correct or 0,
        "total": attempt.total,
        "time_ms": attempt.time_ms or 0,
        "prediction": attempt.prediction,
        "submitted_at": attempt.submitted_at,
        "auto_submitted": attempt.auto_submitted,
    }


def result_out(attempt: Attempt) -> ResultOut:
    return ResultOut(**result_payload(attempt))


async def attempt_payload(
    deps: AttemptDeps, state: AttemptState, round_: Round, now: datetime, result: ResultOut | None = None
) -> dict[str, Any]:
    """The attempt as the API shows it (the fields and shapes of AttemptOut), as plain data: the
    open and resume routes serialize it with orjson directly, skipping a model per question and
    option and the response model's validation (the response model still documents it)."""
    contents = await content_cache(deps.db).get_many(deps.db, [qid for qid, _ in state.paper])
    token = deps.tokens.token
    attempt_id = state.id
    questions = []
    for number, (qid, option_ids) in enumerate(state.paper, start=1):
        content = contents[qid]
        texts = content.options
        questions.append(
            {
                "id": qid,
                "number": number,
                "text": content.text,
                "options": [
                    {"id": token(attempt_id, oid), "label": LABELS[i], "text": texts[oid]}
                    for i, oid in enumerate(option_ids)
                ],
            }
        )
    remaining = int((state.deadline - now).total_seconds() * 1000)
    return {
        "attempt_id": attempt_id,
        "round_id": state.round_id,
        "seq": state.seq,
        "status": state.status,
        "started_at": state.started_at,
        "deadline": state.deadline,
        "server_time": now,
        "remaining_ms": max(0, remaining) if state.status == "in_progress" else 0,
        "prediction_enabled": round_.prediction_enabled,
        "prediction_question": round_.prediction_question if round_.prediction_enabled else None,
        "prediction": state.prediction,
        "questions": questions,
        "answers": {str(q): token(attempt_id, o) for q, o in state.answers.items()},
        "result": None if result is None else result.model_dump(),
    }


async def attempt_out(
    deps: AttemptDeps, state: AttemptState, round_: Round, now: datetime, result: ResultOut | None = None
) -> AttemptOut:
    return AttemptOut.model_validate(await attempt_payload(deps, state, round_, now, result))


def json_response(payload: dict[str, Any], status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_UTC_Z), status_code, media_type="application/json")
