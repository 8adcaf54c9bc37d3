"""The participant's pages of contests: the home page (published contests) and a contest's page
with its rounds and the visitor's progress in each."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.attempts import service as attempts
from app.contests.public import public_contests
from app.core.deps import DbDep, PageSessionDep
from app.core.runtime import request_runtime
from app.web.render import macros, page

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home(request: Request, session: PageSessionDep):
    # Nothing here is personal but the header: the list of contests is rendered once per list
    # and per round opening or closing, and no database session is opened while the list is fresh.
    runtime = request_runtime(request)
    contests = runtime.caches.public_contests
    await contests.refresh_with(runtime.sessionmaker)
    summaries = contests.summaries()
    key = ("home", tuple(c.open_round_id for c in summaries))
    content = contests.rendered.get(key)
    if content is None:
        content = contests.rendered[key] = macros("_home_parts.html").contests(summaries)
    return page(request, "home.html", content_html=content)


@router.get("/contests/{contest_id}")
async def contest_page(
    contest_id: int,
    request: Request,
    db: DbDep,
    session: PageSessionDep,
):
    contest = await public_contests(db).get(db, contest_id)
    progress = {}
    if session is not None:
        by_round = await attempts.progress_by_round(db, session.user_id, [r.id for r in contest.rounds])
        for round_id, (attempts_list, best) in by_round.items():
            progress[round_id] = {
                "used": len(attempts_list),
                "best": best,
                "in_progress": next((a.id for a in attempts_list if a.status == "in_progress"), None),
            }
    return page(request, "contest.html", contest=contest, progress=progress)
