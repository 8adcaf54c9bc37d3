"""Server-rendered pages for participants. Thin: forms in, service calls, templates out.
Every page works without JavaScript; the attempt page adds a countdown and autosave on top."""
from __future__ import annotations

from datetime import date
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import service as accounts
from app.accounts import throttle
from app.accounts.register_form import check as check_registration
from app.accounts.cookies import clear_login_cookies
from app.accounts.localities import PROVINCES
from app.accounts.routes import start_session
from app.accounts.sessions import Session, delete_session
from app.attempts import service as attempts
from app.attempts.routes import attempt_deps
from app.attempts.service import AttemptDeps
from app.attempts.views import attempt_out, result_out
from app.attempts.waiting_room import PleaseWait, human_wait
from app.contests import service as contests
from app.contests.service import round_cache
from app.core.clock import utcnow
from app.core.deps import check_csrf, get_db, get_redis, page_session
from app.core.errors import AppError
from app.integrity.models import LOGIN, REGISTER
from app.integrity.signals import record_event
from app.outreach import service as outreach
from app.web.render import page, set_flash

router = APIRouter(include_in_schema=False)


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def login_redirect(request: Request, back: str | None = None) -> RedirectResponse:
    # `next` must be a page a GET can show: after logging in the browser follows it with a GET.
    return redirect(f"/login?next={quote(back or request.url.path, safe='/')}")


def round_anchor(contest_id: int, round_id: int) -> str:
    """The round's card on its contest page, where the start button is."""
    return f"/contests/{contest_id}#round-{round_id}"


def with_headers(response, error: AppError):
    # A refused login keeps the form on screen, with the error's headers (Retry-After on 429).
    for key, value in error.headers.items():
        response.headers[key] = value
    return response


def safe_next(value: str | None) -> str:
    # Only local paths: "next" must not become an open redirect to another site.
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


@router.get("/")
async def home(request: Request, db: AsyncSession = Depends(get_db), session=Depends(page_session)):
    return page(request, "home.html", contests=await contests.list_contests(db))


@router.get("/contests/{contest_id}")
async def contest_page(contest_id: int, request: Request, db: AsyncSession = Depends(get_db),
                       session: Session | None = Depends(page_session)):
    contest = await contests.get_contest(db, contest_id)
    progress = {}
    if session is not None:
        for round_ in contest.rounds:
            attempts_list, best = await attempts.round_progress(db, session.user_id, round_.id)
            progress[round_.id] = {"used": len(attempts_list), "best": best,
                                   "in_progress": next((a.id for a in attempts_list if a.status == "in_progress"), None)}
    return page(request, "contest.html", contest=contest, progress=progress)


# --- accounts -------------------------------------------------------------------------------


@router.get("/register")
async def register_form(request: Request, session=Depends(page_session)):
    return page(request, "register.html", provinces=PROVINCES, values={}, errors={},
                next=safe_next(request.query_params.get("next")))


@router.post("/register")
async def register_submit(request: Request, db: AsyncSession = Depends(get_db), redis: Redis = Depends(get_redis),
                          session: Session | None = Depends(page_session)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    values = {k: str(v) for k, v in form.items() if k not in ("password", "password2", "csrf_token", "device_id")}
    data, errors = await check_registration(request, db, form, values)  # every problem at once
    if errors:
        return page(request, "register.html", status=422, provinces=PROVINCES, values=values, errors=errors)
    try:
        await throttle.check_register(request, data)
        user = await accounts.register(db, data)
    except AppError as exc:
        return with_headers(page(request, "register.html", status=exc.status, provinces=PROVINCES, values=values,
                                 errors={"form": exc.message}), exc)
    response = redirect(safe_next(request.query_params.get("next")))
    await start_session(request, response, redis, user, session)
    await record_event(request, response, db, user.id, REGISTER, form.get("device_id"))
    await outreach.record_signup(db, user.id, form.get("invite"))  # counted for its invitation link, if any
    set_flash(response, f"Đăng ký thành công. Chào mừng {user.full_name}! Bạn đã được đăng nhập.")
    return response


class _DateError(ValueError):
    pass


def _parse_date(raw: str) -> date:
    raw = raw.strip()
    try:
        if "/" in raw:  # dd/mm/yyyy, as Vietnamese people write dates
            day, month, year = (int(x) for x in raw.split("/"))
            return date(year, month, day)
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise _DateError from exc


@router.get("/login")
async def login_form(request: Request, session=Depends(page_session)):
    return page(request, "login.html", next=safe_next(request.query_params.get("next")), error=None, login="")


@router.post("/login")
async def login_submit(request: Request, db: AsyncSession = Depends(get_db), redis: Redis = Depends(get_redis),
                       session: Session | None = Depends(page_session)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    login = str(form.get("login", ""))[:40]
    target = safe_next(str(form.get("next", "/")))
    try:
        user = await throttle.authenticate(request, db, login, str(form.get("password", ""))[:200])
    except AppError as exc:
        return with_headers(page(request, "login.html", status=exc.status, next=target, error=exc.message,
                                 login=login), exc)
    response = redirect(target)
    await start_session(request, response, redis, user, session)
    await record_event(request, response, db, user.id, LOGIN, form.get("device_id"))
    return response


@router.post("/logout")
async def logout(request: Request, redis: Redis = Depends(get_redis), session: Session | None = Depends(page_session)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    if session is not None:
        await delete_session(redis, session.token)
    response = redirect("/")
    clear_login_cookies(request, response)
    return response


# --- attempts -------------------------------------------------------------------------------


@router.post("/rounds/{round_id}/start")
async def start_attempt(round_id: int, request: Request, session: Session | None = Depends(page_session),
                        deps: AttemptDeps = Depends(attempt_deps)):
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    if session is None:
        round_ = await contests.get_round(deps.db, round_id)
        return login_redirect(request, round_anchor(round_.contest_id, round_id))
    return await _enter(request, session, deps, round_id)


@router.get("/rounds/{round_id}/start")
async def start_link(round_id: int, request: Request, session: Session | None = Depends(page_session),
                     deps: AttemptDeps = Depends(attempt_deps)):
    """Starting is a POST. A GET here is either the waiting screen refreshing itself (only someone
    already in line, who pressed the start button in a CSRF-checked form, gets an attempt from it)
    or an old bookmark / a `next` saved before a login: that shows the round's card on its contest
    page, with the start (or login) button, instead of an error."""
    if session is None or not await request.app.state.waiting_room.holds_ticket(session.user_id, round_id):
        round_ = await contests.get_round(deps.db, round_id)
        back = round_anchor(round_.contest_id, round_id)
        return redirect(back)
    return await _enter(request, session, deps, round_id)


async def _enter(request: Request, session: Session, deps: AttemptDeps, round_id: int):
    await throttle.check_open_attempt(request, session.user_id)
    try:
        await request.app.state.waiting_room.wait_turn(deps.db, session.user_id, round_id)
    except PleaseWait as wait:
        # Not an error page: the place in line, refreshing itself (a meta refresh, no JavaScript).
        response = page(request, "waiting.html", wait=wait.admission, round_id=round_id,
                        wait_text=human_wait(wait.admission.estimated_wait_seconds))
        return with_headers(response, wait)
    state, _ = await attempts.open_attempt(deps, session.user_id, round_id)
    return redirect(f"/attempts/{state.id}")


@router.get("/attempts/{attempt_id}")
async def attempt_page(attempt_id: int, request: Request, session: Session | None = Depends(page_session),
                       deps: AttemptDeps = Depends(attempt_deps)):
    if session is None:
        return login_redirect(request)
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status != "in_progress":
        return redirect(f"/attempts/{attempt_id}/result")
    return await _attempt_view(request, deps, state,
                               notice=request.query_params.get("saved") and "Đã lưu các câu trả lời.")


async def _attempt_view(request: Request, deps: AttemptDeps, state, status: int = 200, **context):
    round_ = await round_cache.get(deps.db, state.round_id)
    view = await attempt_out(deps, state, round_, utcnow())
    return page(request, "attempt.html", status=status, attempt=view, round=round_, **context)


async def _attempt_with_error(request: Request, deps: AttemptDeps, session: Session, attempt_id: int,
                              field: str, message: str, prediction_text: str | None = None):
    """Back to the same attempt page, the message next to the field: the chosen answers were saved
    just before, and the countdown keeps running from the server's deadline."""
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status != "in_progress":
        return redirect(f"/attempts/{attempt_id}/result")
    return await _attempt_view(request, deps, state, status=422, errors={field: message, "form": message},
                               prediction_text=prediction_text,
                               notice="Các câu trả lời đã chọn đã được lưu; bài chưa được nộp.")


@router.get("/attempt-sw.js")
async def attempt_service_worker():
    # Served from the root, not /static/: a service worker may only control pages under its own
    # path, and this one keeps offline copies of /attempts/{id} (see the file).
    return FileResponse(Path(__file__).parent / "static" / "attempt-sw.js", media_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


@router.post("/attempts/{attempt_id}")
async def attempt_form(attempt_id: int, request: Request, session: Session | None = Depends(page_session),
                       deps: AttemptDeps = Depends(attempt_deps)):
    """The no-JavaScript path: saves every chosen answer of the form, then submits if asked."""
    form = await request.form()
    check_csrf(request, form.get("csrf_token"))
    if session is None:
        return login_redirect(request)
    action = form.get("action", "save")
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status == "in_progress":
        for qid, _ in state.paper:
            token = form.get(f"q{qid}")
            if token and deps.tokens.resolve(attempt_id, state.options_of(qid), str(token)) != state.answers.get(qid):
                try:
                    state, _ = await attempts.save_answer(deps, session.user_id, attempt_id, qid, str(token))
                except attempts.AttemptClosed:
                    return redirect(f"/attempts/{attempt_id}/result")
        try:
            prediction = _parse_prediction(form.get("prediction"))
        except AppError as exc:
            return await _attempt_with_error(request, deps, session, attempt_id, "prediction", exc.message,
                                             str(form.get("prediction", ""))[:20])
        if prediction is not None and prediction != state.prediction:
            state = await attempts.save_prediction(deps, session.user_id, attempt_id, prediction)
    if action in ("submit", "timeout"):
        round_ = await round_cache.get(deps.db, state.round_id)
        try:
            await attempts.submit(deps, session.user_id, attempt_id, None,
                                  prediction_required=round_.prediction_enabled and action == "submit",
                                  # Only a countdown that really ran out counts as automatic.
                                  auto=action == "timeout" and attempts.timer_ran_out(state))
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
async def result_page(attempt_id: int, request: Request, session: Session | None = Depends(page_session),
                      deps: AttemptDeps = Depends(attempt_deps)):
    if session is None:
        return login_redirect(request)
    state = await attempts.load_state(deps, session.user_id, attempt_id)
    if state.status == "in_progress":
        return redirect(f"/attempts/{attempt_id}")
    attempt = await deps.db.get(attempts.Attempt, attempt_id)
    round_ = await contests.get_round(deps.db, attempt.round_id)
    attempts_list, best = await attempts.round_progress(deps.db, session.user_id, round_.id)
    now = utcnow()
    can_retry = round_.is_open(now) and len(attempts_list) < round_.attempts_allowed
    return page(request, "result.html", result=result_out(attempt), round=round_, best=result_out(best),
                is_best=best.id == attempt.id, used=len(attempts_list), can_retry=can_retry)
