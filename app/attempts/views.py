"""Shaping attempts for the API and the pages. Nothing here may reveal which option is correct."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import orjson
from fastapi import Response
from jinja2.utils import url_quote
from markupsafe import Markup

from app.attempts.cache import AttemptState
from app.attempts.fragments import questions_html
from app.attempts.models import Attempt
from app.attempts.results import Outcome
from app.attempts.schemas import ResultOut
from app.attempts.service import AttemptDeps
from app.contests.models import Round
from app.questions.service import content_cache
from app.web.render import format_duration_ms, format_local, format_number

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


@dataclass(frozen=True, slots=True)
class AttemptPage:
    """What the attempt page shows: AttemptOut's fields that the template reads, and the
    question list already written (app/attempts/fragments.py)."""

    attempt_id: int
    seq: int
    deadline_text: str
    remaining_ms: int
    remaining_minutes: int
    prediction_enabled: bool
    prediction_question: str | None
    prediction: int | None
    total: int
    questions_html: Markup


async def attempt_page_view(deps: AttemptDeps, state: AttemptState, round_: Round, now: datetime) -> AttemptPage:
    """The page's view of an attempt in progress, without AttemptOut's model per question and
    option (the API's resume keeps it) nor a template loop over them."""
    contents = await content_cache(deps.db).get_many(deps.db, [qid for qid, _ in state.paper])
    # A partial, not a lambda: eighty calls without a Python frame of their own.
    html = questions_html(state.paper, contents, state.answers, partial(deps.tokens.token, state.id))
    remaining = int((state.deadline - now).total_seconds() * 1000)
    remaining_ms = max(0, remaining) if state.status == "in_progress" else 0
    return AttemptPage(
        attempt_id=state.id,
        seq=state.seq,
        deadline_text=format_local(state.deadline, True),
        remaining_ms=remaining_ms,
        remaining_minutes=remaining_ms // 60000,
        prediction_enabled=round_.prediction_enabled,
        prediction_question=round_.prediction_question if round_.prediction_enabled else None,
        prediction=state.prediction,
        total=len(state.paper),
        questions_html=html,
    )


@dataclass(frozen=True, slots=True)
class ResultPage:
    """What the result page shows of the person's attempts, every value worked out (the page's
    template is rendered once per round and filled in: app/attempts/skeletons.py)."""

    attempt_id: int
    correct: int
    total: int
    time_text: str
    prediction_text: str
    submitted_text: str
    auto_submitted: bool
    used: int
    is_best: bool
    best_correct: int
    best_total: int
    best_time_text: str
    can_retry: bool
    link: str  # the share link
    link_quoted: str  # ...as Jinja's urlencode filter writes it


def result_page_view(attempt: Outcome, best: Outcome, used: int, can_retry: bool, link: str) -> ResultPage:
    return ResultPage(
        attempt_id=attempt.id,
        correct=attempt.correct,
        total=attempt.total,
        time_text=format_duration_ms(attempt.time_ms),
        prediction_text="không có" if attempt.prediction is None else format_number(attempt.prediction),
        submitted_text=format_local(attempt.submitted_at, True),
        auto_submitted=attempt.auto_submitted,
        used=used,
        is_best=best.id == attempt.id,
        best_correct=best.correct,
        best_total=best.total,
        best_time_text=format_duration_ms(best.time_ms),
        can_retry=can_retry,
        link=link,
        link_quoted=url_quote(link),
    )


def json_response(payload: dict[str, Any], status_code: int = 200) -> Response:
    return Response(orjson.dumps(payload, option=orjson.OPT_UTC_Z), status_code, media_type="application/json")
