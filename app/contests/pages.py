"""The participant's pages of contests: the home page (published contests) and a contest's page
with its rounds and the visitor's progress in each."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, Request
from markupsafe import Markup

from app.contests.progress import Progress, progress_by_round
from app.contests.public import PublicContests
from app.contests.schemas import ContestOut, RoundOut
from app.core.deps import PageSessionDep
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


# Where a round's card takes the visitor's part (never in a card's own text: NUL is not HTML).
_SLOT = Markup("\x00")


@dataclass(frozen=True)
class ContestParts:
    """A contest page's parts that every visitor sees alike, rendered once."""

    meta: Markup
    head: Markup
    cards: list[tuple[RoundOut, str, str]]  # a round's card before and after the visitor's part
    rules: Markup
    anonymous: Markup  # the whole content for a visitor not logged in


def _contest_parts(contest: ContestOut, request: Request) -> ContestParts:
    parts = macros("_contest_parts.html")
    cards = []
    for r in contest.rounds:
        before, _, after = str(parts.round_card(r, _SLOT)).partition(_SLOT)
        cards.append((r, before, after))
    head, rules = parts.head(contest), parts.rules(contest)
    anonymous: list[str] = [head]
    for r, before, after in cards:
        anonymous += [before, parts.round_mine(contest.id, r, None, False, ""), after]
    return ContestParts(parts.meta(contest, request), head, cards, rules, Markup("\n".join([*anonymous, rules])))


def public_base_key(request: Request) -> tuple:
    """What outreach.public_base(request) depends on, without building the URL: a key for the
    parts that carry the public address (the link preview), which it would cost every view."""
    scope = request.scope
    return (
        request_runtime(request).settings.public_base_url,
        scope.get("scheme"),
        scope.get("server"),
        request.headers.get("host"),
        scope.get("app_root_path", scope.get("root_path", "")),
    )


def _shared_parts(contests: PublicContests, contest_id: int, request: Request) -> tuple[ContestOut, ContestParts]:
    """The contest and its shared parts, rendered once per contest, rounds' statuses and public
    address (the link preview carries it), and dropped with the list they came from."""
    contest, key = contests.contest(contest_id)
    page_key = ("contest page", *key[1:], public_base_key(request))
    parts = contests.rendered.get(page_key)
    if parts is None:
        parts = contests.rendered[page_key] = _contest_parts(contest, request)
    return contest, parts


def _personal_content(contest: ContestOut, parts: ContestParts, progress: dict[int, Progress], csrf: str) -> Markup:
    mine = macros("_contest_parts.html").round_mine
    pieces: list[str] = [parts.head]
    for r, before, after in parts.cards:
        pieces += [before, mine(contest.id, r, progress.get(r.id), True, csrf), after]
    pieces.append(parts.rules)
    return Markup("\n".join(pieces))


@router.get("/contests/{contest_id}")
async def contest_page(contest_id: int, request: Request, session: PageSessionDep):
    # Like the home page, no database session while the list is fresh: the shared parts come
    # rendered, and only the visitor's own progress is read (progress.py) and rendered.
    runtime = request_runtime(request)
    contests = runtime.caches.public_contests
    await contests.refresh_with(runtime.sessionmaker)
    contest, parts = _shared_parts(contests, contest_id, request)
    if session is None:
        content = parts.anonymous
        return page(request, "contest.html", title=contest.title, meta_html=parts.meta, content=lambda _: content)
    progress = await progress_by_round(
        runtime.engine, runtime.sessionmaker, session.user_id, [r.id for r, _, _ in parts.cards]
    )
    # The start forms carry the session's CSRF token, which page() settles: the template asks.
    return page(
        request,
        "contest.html",
        title=contest.title,
        meta_html=parts.meta,
        content=lambda csrf: _personal_content(contest, parts, progress, csrf),
    )
