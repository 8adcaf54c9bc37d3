"""The participant's attempt pages: start (through the waiting room), answer, submit, result.
Thin: forms in, service calls, templates out. Every page works without JavaScript; the attempt
page adds a countdown and autosave on top."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import cast

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from markupsafe import escape

from app.accounts import throttle
from app.attempts import results
from app.attempts import service as attempts
from app.attempts.cache import AttemptCache, attempt_key
from app.attempts.routes import AttemptDepsDep
from app.attempts.service import AttemptDeps
from app.attempts.skeletons import SKELETONS, bakeable, marker
from app.attempts.views import attempt_page_view, result_page_view
from app.attempts.waiting_room import PleaseWait
from app.contests import service as contests
from app.contests.service import round_cache
from app.core.clock import human_wait, utcnow
from app.core.deps import PageSessionDep, page_session, session_token
from app.core.errors import AppError
from app.core.runtime import Runtime, RuntimeDep, request_runtime
from app.core.sessions import Session, load_session_with
from app.web.forms import PageForm
from app.web.links import login_redirect, redirect, round_anchor, with_headers
from app.web.render import STATIC_DIR, finish_page, page, start_page, templates

router = APIRouter(include_in_schema=False)

# The roles whose header shows the console's links (base.html): a variant of a page's skeleton.
STAFF_ROLES = ("admin", "staff")


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
async def attempt_page(attempt_id: int, request: Request):
    # The page every participant opens when a round opens, lean like the answer save (routes.py):
    # no dependency tree, the session and the cached attempt read in one Redis round trip, and a
    # database session that connects only if a cache misses.
    runtime = request_runtime(request)
    token, _ = session_token(request)
    session, (cached,) = await load_session_with(
        runtime.redis, token, runtime.settings.session_ttl_seconds, ("HGETALL", attempt_key(attempt_id))
    )
    request.state.session = session  # what page_session would have left for the page's header
    if session is None:
        return login_redirect(request)
    async with runtime.sessionmaker() as db:
        deps = AttemptDeps.of(runtime, db)
        state = await attempts.load_state(
            deps, session.user_id, attempt_id, AttemptCache.parse(attempt_id, cached or {})
        )
        if state.status != "in_progress":
            return redirect(f"/attempts/{attempt_id}/result")
        return await _attempt_view(
            request, deps, state, notice=request.query_params.get("saved") and "Đã lưu các câu trả lời."
        )


async def _attempt_view(request: Request, deps: AttemptDeps, state, status: int = 200, **context):
    round_ = await round_cache(deps.db).get(deps.db, state.round_id)
    view = await attempt_page_view(deps, state, round_, utcnow())
    session = request.state._state.get("session")
    plain = context.get("errors") or context.get("prediction_text") is not None  # echoes what was typed: rare
    if session is None or plain or not bakeable(round_.name, round_.prediction_question):
        return page(request, "attempt.html", status=status, attempt=view, round=round_, **context)
    start = start_page(request)
    notice = context.get("notice") or ""
    staff = session.role in STAFF_ROLES
    skeleton = SKELETONS.get(
        ("attempt.html", round_.id, staff, bool(start.flash), bool(notice)),
        round_,
        lambda: _skeleton_of_attempt(request, round_, session.role, start.flash, notice),
        _ATTEMPT_MARKERS,
    )
    if skeleton is None:
        return page(request, "attempt.html", status=status, attempt=view, round=round_, **context)
    values = {
        "csrf": escape(start.csrf_token),
        "name": escape(session.name),
        "flash": escape(start.flash),
        "notice": escape(notice),
        "attempt_id": str(view.attempt_id),
        "seq": str(view.seq),
        "remaining_ms": str(view.remaining_ms),
        "remaining_minutes": str(view.remaining_minutes),
        "deadline": escape(view.deadline_text),
        "total": str(view.total),
        "questions": view.questions_html,
        "prediction": "" if view.prediction is None else str(view.prediction),
    }
    return finish_page(start, HTMLResponse(skeleton.fill(values), status_code=status))


_ATTEMPT_MARKERS = frozenset(
    (
        "csrf",
        "name",
        "flash",
        "notice",
        "attempt_id",
        "seq",
        "remaining_ms",
        "remaining_minutes",
        "deadline",
        "total",
        "questions",
        "prediction",
    )
)


def _skeleton_of_attempt(request: Request, round_, role: str, flash: str, notice: str) -> str:
    """attempt.html with a marker for every value of one request (app/attempts/skeletons.py)."""
    attempt = SimpleNamespace(
        attempt_id=marker("attempt_id"),
        seq=marker("seq"),
        remaining_ms=marker("remaining_ms"),
        remaining_minutes=marker("remaining_minutes"),
        deadline_text=marker("deadline"),
        prediction_enabled=round_.prediction_enabled,
        prediction_question=round_.prediction_question if round_.prediction_enabled else None,
        prediction=marker("prediction"),
        total=marker("total"),
        questions_html=marker("questions"),
    )
    return _render_skeleton(
        "attempt.html", request, role, flash, notice=marker("notice") if notice else None, attempt=attempt, round=round_
    )


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
async def result_page(attempt_id: int, request: Request):
    # Lean like the attempt page: no dependency tree, the results read in one statement, the page
    # filled into its round's skeleton.
    session = await page_session(request)
    if session is None:
        return login_redirect(request)
    runtime = request_runtime(request)
    async with runtime.sessionmaker() as db:
        deps = AttemptDeps.of(runtime, db)
        found = await results.result_progress(deps, session.user_id, attempt_id)
        if found is None:
            return redirect(f"/attempts/{attempt_id}")
        attempt, attempts_list, best = found
        # The per-process round cache (seconds old at most), as the attempt page: one SELECT fewer per view.
        round_ = await round_cache(db).get(db, attempt.round_id)
    can_retry = round_.is_open(utcnow()) and len(attempts_list) < round_.attempts_allowed
    # The template global the outreach feature registers (app/outreach/pages.py): one definition.
    share_link = cast(Callable[[Request, int], str], templates.env.globals["share_link"])
    link = share_link(request, attempt.id)
    view = result_page_view(attempt, best, len(attempts_list), can_retry, link)
    if not bakeable(round_.name):
        return page(request, "result.html", r=view, round=round_)
    start = start_page(request)
    staff = session.role in STAFF_ROLES
    skeleton = SKELETONS.get(
        ("result.html", round_.id, staff, bool(start.flash), view.auto_submitted, view.is_best, view.can_retry),
        round_,
        lambda: _skeleton_of_result(request, round_, session.role, start.flash, view),
        _RESULT_MARKERS,
    )
    if skeleton is None:
        return page(request, "result.html", r=view, round=round_)
    values = {
        "csrf": escape(start.csrf_token),
        "name": escape(session.name),
        "flash": escape(start.flash),
        "attempt_id": str(view.attempt_id),
        "correct": str(view.correct),
        "total": str(view.total),
        "time": escape(view.time_text),
        "prediction": escape(view.prediction_text),
        "submitted": escape(view.submitted_text),
        "used": str(view.used),
        "best_correct": str(view.best_correct),
        "best_total": str(view.best_total),
        "best_time": escape(view.best_time_text),
        "link": escape(view.link),
        "link_quoted": escape(view.link_quoted),
    }
    return finish_page(start, HTMLResponse(skeleton.fill(values)))


_RESULT_MARKERS = frozenset(
    (
        "csrf",
        "name",
        "flash",
        "attempt_id",
        "correct",
        "total",
        "time",
        "prediction",
        "submitted",
        "used",
        "best_correct",
        "best_total",
        "best_time",
        "link",
        "link_quoted",
    )
)


def _skeleton_of_result(request: Request, round_, role: str, flash: str, view) -> str:
    """result.html with a marker for every value of one request; what changes the page's
    structure (automatic submission, the best attempt or not, the retry button) is the view's."""
    r = SimpleNamespace(
        attempt_id=marker("attempt_id"),
        correct=marker("correct"),
        total=marker("total"),
        time_text=marker("time"),
        prediction_text=marker("prediction"),
        submitted_text=marker("submitted"),
        auto_submitted=view.auto_submitted,
        used=marker("used"),
        is_best=view.is_best,
        best_correct=marker("best_correct"),
        best_total=marker("best_total"),
        best_time_text=marker("best_time"),
        can_retry=view.can_retry,
        link=marker("link"),
        link_quoted=marker("link_quoted"),
    )
    return _render_skeleton("result.html", request, role, flash, r=r, round=round_)


def _render_skeleton(template: str, request: Request, role: str, flash: str, **context) -> str:
    """A page's template rendered with markers for what every page has of its viewer (name,
    form token, flash message), as app.web.render.page would give them."""
    return templates.get_template(template).render(
        request=request,
        session=Session("", 0, role, marker("name")),
        csrf_token=marker("csrf"),
        flash=marker("flash") if flash else "",
        **context,
    )
