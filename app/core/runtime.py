"""The app's runtime: one typed object holding what lives as long as the app instance does.

Built in the lifespan (app/main.py, the only place that knows every feature), handed to routes
through the `Annotated` aliases below (as Netflix Dispatch and Polar do), and closed when the app
stops. Nothing here is module-level state: each app instance, hence each test app, starts fresh.

Feature types appear only under TYPE_CHECKING: core stays below the features at run time
(tests/ops/test_import_layers.py), while mypy still sees every field's type.

The per-process caches reach service code through the session: the runtime's sessionmaker puts
them in `Session.info` (keyed by their class), so a function that already takes `db` finds the
app's cache with `RoundCache.of(db)` without a new parameter on every signature; a session made
outside the runtime (CLI, a test's own) gets a fresh cache of its own.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

from fastapi import Depends, FastAPI, Request, Response
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.config import Settings

if TYPE_CHECKING:
    from app.accounts.login_line import LoginLine
    from app.attempts.answers import AnswerWriter
    from app.attempts.cache import AttemptCache
    from app.attempts.pool import PoolCache
    from app.attempts.tokens import OptionTokens
    from app.attempts.waiting_room import WaitingRoom
    from app.contests.public import PublicContests
    from app.contests.service import RoundCache
    from app.core.ratelimit import Limiter
    from app.dashboard.service import DashboardCache
    from app.jobs.queue import JobQueue
    from app.leaderboard.fragments import FragmentCache
    from app.leaderboard.privacy import NameStyles
    from app.leaderboard.service import OfficialNames, PageCache
    from app.leaderboard.viewers import StaffIds
    from app.questions.service import ContentCache

T = TypeVar("T")


class AttemptClosedHook(Protocol):
    """ "An attempt closed" (submitted, or closed at its deadline): attempts call it after the
    commit; the lifespan wires it to the live leaderboard. Never raises. `figures`: the closed
    row's columns and its owner's display fields and exclusion, when the closing statement
    returned them (app/attempts/statements.py), so that nothing is read again; None: read them."""

    def __call__(
        self, db: AsyncSession, attempt_id: int, figures: Mapping[str, Any] | None = None
    ) -> Awaitable[None]: ...


# "Someone logged in / registered" (kind "login" | "register"), with the device id the form or
# body sent: the lifespan wires it to the integrity signals (app/integrity/signals.py); it may set
# a cookie on the response and never raises.
AccountEventHook = Callable[[Request, Response, AsyncSession, int, str, "str | None"], Awaitable[None]]


async def nobody_listens(db: AsyncSession, attempt_id: int, figures: Mapping[str, Any] | None = None) -> None:
    return None


async def no_account_events(
    request: Request, response: Response, db: AsyncSession, user_id: int, kind: str, sent_device: str | None = None
) -> None:
    return None


@dataclass
class Caches:
    """The per-process read caches. Short TTLs: another worker sees a change within seconds."""

    rounds: RoundCache
    contents: ContentCache
    board_pages: PageCache
    board_fragments: FragmentCache
    staff_ids: StaffIds
    official_names: OfficialNames
    name_styles: NameStyles
    dashboards: DashboardCache
    public_contests: PublicContests
    pools: PoolCache

    def by_type(self) -> dict[type, Any]:
        return {type(getattr(self, f.name)): getattr(self, f.name) for f in fields(self)}

    def clear(self) -> None:
        for cache in self.by_type().values():
            cache.clear()


def cache_of(db: AsyncSession, kind: type[T]) -> T:
    """The app's cache of this class, from the session its runtime made (else a fresh one)."""
    found = db.info.get(kind)
    if found is None:
        found = db.info[kind] = kind()
    return found


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    redis: Redis
    board_redis: Any  # Redis or RedisCluster (app/leaderboard/board.py)
    attempt_cache: AttemptCache
    option_tokens: OptionTokens
    answer_writer: AnswerWriter
    waiting_room: WaitingRoom
    caches: Caches
    limiter: Limiter
    attempt_closed: AttemptClosedHook = nobody_listens
    # The password checks' line (app/accounts/login_line.py); None: no line, the pool alone.
    login_line: LoginLine | None = None
    account_event: AccountEventHook = no_account_events
    # Background work this process started (exports): strong references, the loop keeps weak ones.
    tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    # The job queue (app/jobs/queue.py): exports, board rebuilds, the sweep run on the workers.
    jobs: JobQueue = None  # type: ignore[assignment]  # set by wiring.build_runtime
    # Figures /metrics reads from the database at scrape time, by name (app/core/observability.py).
    gauges: dict[str, Callable[[AsyncSession], Awaitable[int | None]]] = field(default_factory=dict)
    _derived_keys: dict[str, bytes] = field(default_factory=dict)

    def derived_key(self, purpose: str) -> bytes:
        """sha256(purpose:SECRET_KEY), computed once per runtime and purpose."""
        key = self._derived_keys.get(purpose)
        if key is None:
            key = self._derived_keys[purpose] = hashlib.sha256(
                f"{purpose}:{self.settings.effective_secret_key}".encode()
            ).digest()
        return key

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task


def runtime_of(app: FastAPI) -> Runtime:
    return app.state.runtime


def request_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


async def get_runtime(request: Request) -> Runtime:
    # async: FastAPI runs a plain `def` dependency in a worker thread, on every request.
    return request.app.state.runtime


async def get_settings_dep(request: Request) -> Settings:
    return request.app.state.runtime.settings


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
