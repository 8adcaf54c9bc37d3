"""JSON API of the timed attempt. Thin: every rule lives in app.attempts.service."""

from __future__ import annotations

from functools import partial
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import throttle
from app.attempts import service
from app.attempts.cache import AttemptCache
from app.attempts.schemas import (
    AnswerIn,
    AnswerOut,
    AttemptOut,
    PredictionIn,
    ResultOut,
    RoundProgressOut,
    SubmitIn,
    parse_answer,
    parse_submit,
)
from app.attempts.service import AttemptDeps
from app.attempts.views import attempt_payload, json_response, result_out, result_payload
from app.attempts.waiting_room import Alongside
from app.contests.service import get_round, round_cache
from app.core import ratelimit
from app.core.clock import utcnow
from app.core.deps import DbDep, SessionDep, api_session, session_token
from app.core.errors import ErrorResponses
from app.core.runtime import Runtime, RuntimeDep, request_runtime
from app.core.sessions import load_session_with

router = APIRouter(prefix="/api/v1", tags=["attempts"], responses=ErrorResponses)


async def attempt_deps(runtime: RuntimeDep, db: DbDep) -> AttemptDeps:
    # async: FastAPI would run a plain `def` dependency in a worker thread, on every request.
    return AttemptDeps.of(runtime, db)


AttemptDepsDep = Annotated[AttemptDeps, Depends(attempt_deps)]


async def _attempt_response(deps: AttemptDeps, state, status_code: int = 200) -> Response:
    """AttemptOut, written by orjson (the routes' response_model documents it)."""
    round_ = await round_cache(deps.db).get(deps.db, state.round_id)
    result = None
    if state.status != "in_progress":
        attempt = await deps.db.get(service.Attempt, state.id)
        assert attempt is not None  # its state was just read, and attempts are never deleted
        result = result_out(attempt)
    return json_response(await attempt_payload(deps, state, round_, utcnow(), result), status_code)


def _json_body(model: type[BaseModel], required: bool) -> dict:
    """OpenAPI's request body for a lean route, which reads its body itself (FastAPI cannot see it)."""
    return {
        "requestBody": {"required": required, "content": {"application/json": {"schema": model.model_json_schema()}}}
    }


def _path_ints_doc(*names: str) -> dict:
    """OpenAPI's integer path parameters of a lean route, as FastAPI writes them for `name: int`."""
    return {
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": {"type": "integer", "title": name.replace("_", " ").title()},
            }
            for name in names
        ]
    }


_INT = TypeAdapter(int)


def _path_ints(request: Request, *names: str) -> list[int]:
    """A lean route's integer path parameters, read and refused (422) as FastAPI would, without
    its per-request parameter machinery (a tenth of an answer save's CPU). Plain digits are
    the usual case; anything else goes through the very validation FastAPI applies."""
    params = request.path_params
    values: list[int] = []
    errors: list[dict] = []
    for name in names:
        raw = params[name]
        if len(raw) <= 18 and raw.isascii() and raw.isdigit():
            values.append(int(raw))
            continue
        try:
            values.append(_INT.validate_python(raw))
        except ValidationError as exc:
            errors += [{**e, "loc": ("path", name, *e["loc"])} for e in exc.errors(include_url=False)]
    if errors:
        raise RequestValidationError(errors)
    return values


class _LeanSession:
    """`async with _LeanSession(runtime) as db`: the lean routes' session, closed only if it was
    used. Most of their requests never touch it (the attempt is cached, the statements go raw to
    asyncpg), and closing an AsyncSession is a greenlet hop even then: ~35 against ~5 µs.
    Unused or done (committed, rolled back), it holds no connection and nothing to release."""

    __slots__ = ("db",)

    def __init__(self, runtime: Runtime):
        self.db = runtime.sessionmaker()

    async def __aenter__(self) -> AsyncSession:
        return self.db

    async def __aexit__(self, *exc_info) -> None:
        if self.db.in_transaction():
            await self.db.close()


@router.post(
    "/rounds/{round_id}/attempts",
    response_model=AttemptOut,
    status_code=201,
    summary="Open an attempt (or get the one in progress, with 200)",
    openapi_extra=_path_ints_doc("round_id"),
)
async def open_attempt(request: Request):
    (round_id,) = _path_ints(request, "round_id")
    # The rush's hot path, lean like put_answer: no dependency tree (the session loaded and
    # checked here, as require_session would), the reply written by orjson.
    runtime = request_runtime(request)
    token, bearer = session_token(request)
    session, _ = await load_session_with(runtime.redis, token, runtime.settings.session_ttl_seconds)
    session = api_session(request, session, bearer)
    # The rate limits go in the waiting room's round trip (429 if over, before the line's answer).
    hits = throttle.open_attempt_hits(request, session.user_id)
    limits = Alongside(ratelimit.hit_commands(hits), partial(ratelimit.check_hits, hits))
    async with _LeanSession(runtime) as db:
        deps = AttemptDeps.of(runtime, db)
        async with runtime.waiting_room.turn(db, session.user_id, round_id, limits) as turn:  # 429 + place in line
            # A new attempt's cache entry and the room's count of opens go in one round trip.
            state, created = await service.open_attempt(deps, session.user_id, round_id, turn.opened_commands())
            turn.reported = created
        return await _attempt_response(deps, state, 201 if created else 200)


@router.get(
    "/attempts/{attempt_id}",
    response_model=AttemptOut,
    summary="Resume: questions, chosen options, deadline",
    openapi_extra=_path_ints_doc("attempt_id"),
)
async def get_attempt(request: Request):
    # Lean like put_answer: the session and the cached attempt in one Redis round trip.
    (attempt_id,) = _path_ints(request, "attempt_id")
    runtime = request_runtime(request)
    token, bearer = session_token(request)
    session, (cached,) = await load_session_with(
        runtime.redis, token, runtime.settings.session_ttl_seconds, AttemptCache.resume_read(attempt_id)
    )
    session = api_session(request, session, bearer)
    async with _LeanSession(runtime) as db:
        deps = AttemptDeps.of(runtime, db)
        state = await service.load_state(
            deps, session.user_id, attempt_id, AttemptCache.parse(attempt_id, cached or {})
        )
        return await _attempt_response(deps, state)


@router.put(
    "/attempts/{attempt_id}/answers/{question_id}",
    response_model=AnswerOut,
    summary="Save one answer",
    openapi_extra=_path_ints_doc("attempt_id", "question_id") | _json_body(AnswerIn, required=True),
)
async def put_answer(request: Request):
    # The hot path, kept lean (README, "Load testing and capacity"): no dependency tree; the
    # session and the attempt's needed fields in one Redis round trip; the small body parsed by
    # pydantic-core straight from the bytes; the answer serialized by orjson. Hence the runtime
    # read from the request rather than through RuntimeDep, unlike the other routes, and the
    # path's ids read by the route itself.
    attempt_id, question_id = _path_ints(request, "attempt_id", "question_id")
    runtime = request_runtime(request)
    token, bearer = session_token(request)
    session, (cached,) = await load_session_with(
        runtime.redis, token, runtime.settings.session_ttl_seconds, AttemptCache.save_read(attempt_id, question_id)
    )
    session = api_session(request, session, bearer)
    option_token = parse_answer(await request.body())
    async with _LeanSession(runtime) as db:  # used only when the attempt is not cached
        deps = AttemptDeps.of(runtime, db)
        state, saved_at = await service.save_answer(
            deps,
            session.user_id,
            attempt_id,
            question_id,
            option_token,
            AttemptCache.parse_save_read(attempt_id, question_id, cached),
        )
    remaining = max(0, int((state.deadline - saved_at).total_seconds() * 1000))
    return Response(
        orjson.dumps(
            {"question_id": question_id, "option_id": option_token, "saved_at": saved_at, "remaining_ms": remaining},
            option=orjson.OPT_UTC_Z,
        ),
        media_type="application/json",
    )


@router.put("/attempts/{attempt_id}/prediction", status_code=204, summary="Save the prediction before submitting")
async def put_prediction(
    attempt_id: int,
    body: PredictionIn,
    session: SessionDep,
    deps: AttemptDepsDep,
):
    await service.save_prediction(deps, session.user_id, attempt_id, body.prediction)
    return Response(status_code=204)


@router.post(
    "/attempts/{attempt_id}/submit",
    response_model=ResultOut,
    summary="Submit (idempotent)",
    openapi_extra=_path_ints_doc("attempt_id") | _json_body(SubmitIn, required=False),
)
async def submit(request: Request):
    (attempt_id,) = _path_ints(request, "attempt_id")
    # Lean like put_answer: the session and what the submit needs of the cached attempt in one
    # Redis round trip, the optional body parsed by pydantic-core, the result written by orjson.
    runtime = request_runtime(request)
    token, bearer = session_token(request)
    session, (cached,) = await load_session_with(
        runtime.redis, token, runtime.settings.session_ttl_seconds, AttemptCache.submit_read(attempt_id)
    )
    session = api_session(request, session, bearer)
    body = parse_submit(await request.body())
    async with _LeanSession(runtime) as db:
        deps = AttemptDeps.of(runtime, db)
        state = await service.load_state(
            deps, session.user_id, attempt_id, AttemptCache.parse_submit_read(attempt_id, cached)
        )
        round_ = await round_cache(db).get(db, state.round_id)
        auto = bool(body and body.auto) and service.timer_ran_out(state)
        attempt = await service.submit(
            deps,
            session.user_id,
            attempt_id,
            body.prediction if body else None,
            prediction_required=round_.prediction_enabled and not auto,
            auto=auto,
            cached=state,
        )
        return json_response(result_payload(attempt))  # ResultOut


@router.get("/rounds/{round_id}/me", response_model=RoundProgressOut, summary="My attempts and best result in a round")
async def my_round(round_id: int, session: SessionDep, db: DbDep):
    round_ = await get_round(db, round_id)
    attempts, best = await service.round_progress(db, session.user_id, round_id)
    in_progress = next((a.id for a in attempts if a.status == "in_progress"), None)
    return RoundProgressOut(
        round_id=round_id,
        attempts_allowed=round_.attempts_allowed,
        attempts_used=len(attempts),
        in_progress_attempt_id=in_progress,
        best=result_out(best) if best else None,
        attempts=[result_out(a) for a in attempts if a.status == "submitted"],
    )
