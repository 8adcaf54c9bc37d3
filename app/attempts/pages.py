"""The participant's attempt pages: start (through the waiting room), answer, submit, result.
Thin: forms in, service calls, templates out. Every page works without JavaScript; the attempt
page adds a countdown and autosave on top."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.accounts import throttle
from app.attempts import service as attempts
from app.attempts.routes import AttemptDepsDep
from app.attempts.service import AttemptDeps
from app.attempts.views import attempt_out, result_out
from app.attempts.waiting_room import PleaseWait
from app.contests import service as contests
from app.contests.service import round_cache
from app.core.clock import human_wait, utcnow
from app.core.deps import PageSessionDep
from app.core.errors import AppError
from app.core.runtime import Runtime, RuntimeDep
from app.core.sessions import Session
from app.web.forms import PageForm
from app.web.links import login_redirect, redirect, round_anchor, with_headers
from app.web.render import STATIC_DIR, page

router = APIRouter(include_in_schema=False)


@router.post("/rounds/{round_id}/start")
async def start_attempt(
    round_id: int,
    request: Request,
    form: PageForm,
    session: PageSessionDep,
    runtime: RuntimeDep,
    deps: AttemptDepsDep,
):
    if session is None:
        round_ = await contests.get_round(deps.db, round_id)
        return login_redirect(request, round_anchor(round_.contest_id, round_id))
    return await _enter(request, runtime, session, deps, round_id)


@router.get("/rounds/{round_id}/start")
async def start_link(
    round_id: int,
    request: Request,
    session: PageSessionDep,
    runtime: RuntimeDep,
    deps: AttemptDepsDep,
):
    """Starting is a POST. A GET here is either the waiting screen refreshing itself (only someone
    already in line, who pressed the start button in a CSRF-checked form, gets an attempt from it)
    or an old bookmark / a `next` saved before a login: that shows the round's card on its contest
    page, with the start (or login) button, instead of an error."""
    if session is None or not await runtime.waiting_room.holds_ticket(session.user_id, round_id):
        round_ = await contests.get_round(deps.db, round_id)
        back = round_anchor(round_.contest_id, round_id)
        return redirect(back)
    return await _enter(request, runtime, session, deps, round_id)


async def _enter(request: Request, runtime: Runtime, session: Session, deps: AttemptDeps, round_id: int):
    await throttle.check_open_attempt(request, session.user_id)
    try:
        async with runtime.waiting_room.turn(deps.db, session.user_id, round_id) as turn:
            # A new attempt's cache entry and the room's count of opens go in one round trip.
            state, turn.reported = await attempts.open_attempt(deps, session.user_id, round_id, turn.opened_commands())
    except PleaseWait as wait:
        # Not an error page: the place in line, refreshing itself (a meta refresh, no JavaScript).
        response = page(
            request,
            "waiting.html",
            wait=wait.admission,
            round_id=round_id,
            wait_text=human_wait(wait.admission.estimated_wait_seconds),
        )
        return with_headers(response, wait)
    return redirect(f"/attempts/{state.id}")


@router.get("/attempts/{attempt_id}")
async def attempt_page(
    attempt_id: int,
    request: Request,
    session: PageSessionDep,
    deps: AttemptDepsDep,
):
    if session is None:
        return login_redirect(request)
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status != "in_progress":
        return redirect(f"/attempts/{attempt_id}/result")
    return await _attempt_view(
        request, deps, state, notice=request.query_params.get("saved") and "Đã lưu các câu trả lời."
    )


async def _attempt_view(request: Request, deps: AttemptDeps, state, status: int = 200, **context):
    round_ = await round_cache(deps.db).get(deps.db, state.round_id)
    view = await attempt_out(deps, state, round_, utcnow())
    return page(request, "attempt.html", status=status, attempt=view, round=round_, **context)


async def _attempt_with_error(
    request: Request,
    deps: AttemptDeps,
    session: Session,
    attempt_id: int,
    field: str,
    message: str,
    prediction_text: str | None = None,
):
    """Back to the same attempt page, the message next to the field: the chosen answers were saved
    just before, and the countdown keeps running from the server's deadline."""
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status != "in_progress":
        return redirect(f"/attempts/{attempt_id}/result")
    return await _attempt_view(
        request,
        deps,
        state,
        status=422,
        errors={field: message, "form": message},
        prediction_text=prediction_text,
        notice="Các câu trả lời đã chọn đã được lưu; bài chưa được nộp.",
    )


@router.get("/attempt-sw.js")
async def attempt_service_worker():
    # Served from the root, not /static/: a service worker may only control pages under its own
    # path, and this one keeps offline copies of /attempts/{id} (see the file).
    return FileResponse(
        STATIC_DIR / "attempt-sw.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache"},
    )


@router.post("/attempts/{attempt_id}")
async def attempt_form(
    attempt_id: int,
    request: Request,
    form: PageForm,
    session: PageSessionDep,
    deps: AttemptDepsDep,
):
    """The no-JavaScript path: saves every chosen answer of the form, then submits if asked."""
    if session is None:
        return login_redirect(request)
    action = form.get("action", "save")
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status == "in_progress":
        for qid, option_ids in state.paper:
            token = form.get(f"q{qid}")
            if token and deps.tokens.resolve(attempt_id, option_ids, str(token)) != state.answers.get(qid):
                try:
                    state, _ = await attempts.save_answer(deps, session.user_id, attempt_id, qid, str(token))
                except attempts.AttemptClosed:
                    return redirect(f"/attempts/{attempt_id}/result")
        try:
            prediction = _parse_prediction(form.get("prediction"))
        except AppError as exc:
            return await _attempt_with_error(
                request, deps, session, attempt_id, "prediction", exc.message, str(form.get("prediction", ""))[:20]
            )
        if prediction is not None and prediction != state.prediction:
            state = await attempts.save_prediction(deps, session.user_id, attempt_id, prediction)
    if action in ("submit", "timeout"):
        round_ = await round_cache(deps.db).get(deps.db, state.round_id)
        try:
            await attempts.submit(
                deps,
                session.user_id,
                attempt_id,
                None,
                prediction_required=round_.prediction_enabled and action == "submit",
                # Only a countdown that really ran out counts as automatic.
                auto=action == "timeout" and attempts.timer_ran_out(state),
            )
        except AppError as exc:
            if exc.code != "prediction_required":
                raise
            return await _attempt_with_error(request, deps, session, attempt_id, "prediction", exc.message)
        return redirect(f"/attempts/{attempt_id}/result")
    return redirect(f"/attempts/{attempt_id}?saved=1")


def _parse_prediction(raw) -> int | None:
    text = str(raw or "").strip().replace(".", "").replace(",", "").replace(" ", "")
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > 10:  # "²".isdigit() is True
        raise AppError("invalid_prediction", "Số dự đoán phải là số nguyên không âm.", 422)
    return int(text)


@router.get("/attempts/{attempt_id}/result")
async def result_page(
    attempt_id: int,
    request: Request,
    session: PageSessionDep,
    deps: AttemptDepsDep,
):
    if session is None:
        return login_redirect(request)
    found = await attempts.result_progress(deps, session.user_id, attempt_id)
    if found is None:
        return redirect(f"/attempts/{attempt_id}")
    attempt, attempts_list, best = found
    # Not in progress means submitted (the only other status), so the round has a best attempt.
    assert best is not None
    # The per-process round cache (seconds old at most), as the attempt page: one SELECT fewer per view.
    round_ = await round_cache(deps.db).get(deps.db, attempt.round_id)
    now = utcnow()
    can_retry = round_.is_open(now) and len(attempts_list) < round_.attempts_allowed
    return page(
        request,
        "result.html",
        result=result_out(attempt),
        round=round_,
        best=result_out(best),
        is_best=best.id == attempt.id,
        used=len(attempts_list),
        can_retry=can_retry,
    )
