"""Wiring: builds the app's runtime (app/core/runtime.py) from the features. The only module,
with app/main.py and app/cli.py, that may import every feature: it sits above them all."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.login_line import LINE_KEY, HashingHealth, LoginLine
from app.attempts.answers import AnswerWriter
from app.attempts.cache import AttemptCache
from app.attempts.pool import PoolCache
from app.attempts.service import count_in_progress
from app.attempts.tokens import OptionTokens
from app.attempts.waiting_room import WaitingRoom
from app.config import Settings
from app.contests.public import PublicContests
from app.contests.service import RoundCache
from app.core.db import create_engine, make_sessionmaker
from app.core.ratelimit import Limiter
from app.core.redis import create_redis
from app.core.runtime import Caches, Runtime
from app.dashboard.service import DashboardCache
from app.integrity.signals import record_event
from app.jobs.queue import JobQueue
from app.leaderboard.board import create_board_redis
from app.leaderboard.fragments import FragmentCache
from app.leaderboard.privacy import NameStyles
from app.leaderboard.rebuild import record_closed_attempt
from app.leaderboard.service import OfficialNames, PageCache
from app.leaderboard.viewers import StaffIds
from app.outreach.service import count_registration
from app.questions.service import ContentCache


async def _account_event(
    request: Request, response: Response, db: AsyncSession, user_id: int, kind: str, sent_device: str | None = None
) -> None:
    """Logins and registrations: the integrity signals, and a registration through an invitation
    link counted for that link (issue 19)."""
    await record_event(request, response, db, user_id, kind, sent_device)
    if kind == "register":
        await count_registration(request, db, user_id)


def build_runtime(settings: Settings) -> Runtime:
    """Everything that lives as long as the app: the one place that wires the features together."""
    engine = create_engine(settings)
    caches = Caches(
        rounds=RoundCache(),
        contents=ContentCache(),
        board_pages=PageCache(),
        board_fragments=FragmentCache(settings.leaderboard_page_seconds),
        staff_ids=StaffIds(),
        official_names=OfficialNames(),
        name_styles=NameStyles(),
        dashboards=DashboardCache(),
        public_contests=PublicContests(settings.public_pages_cache_seconds),
        pools=PoolCache(),
    )
    redis = create_redis(settings)
    board_redis = create_board_redis(settings, redis)
    attempt_cache = AttemptCache(redis, settings.attempt_cache_ttl_seconds)
    # group commit of answer saves
    answer_writer = AnswerWriter(engine, attempt_cache, grace=timedelta(seconds=settings.deadline_grace_seconds))

    async def attempt_closed(db: AsyncSession, attempt_id: int, figures: Mapping[str, Any] | None = None) -> None:
        await record_closed_attempt(db, board_redis, attempt_id, figures)

    return Runtime(
        settings=settings,
        engine=engine,
        sessionmaker=make_sessionmaker(engine, info=caches.by_type()),
        redis=redis,
        board_redis=board_redis,
        attempt_cache=attempt_cache,
        option_tokens=OptionTokens(settings.effective_secret_key),
        answer_writer=answer_writer,
        # adaptive admission: the room's load gauge samples this loop and hears the saves' latency
        waiting_room=WaitingRoom.from_settings(settings, redis, answer_writer),
        login_line=_login_line(settings, redis),
        caches=caches,
        limiter=Limiter(redis),
        attempt_closed=attempt_closed,
        gauges={"attempts_in_progress": count_in_progress},
        account_event=_account_event,
        jobs=JobQueue(settings),  # connected by whoever starts the runtime (the lifespan, the worker)
    )


def _login_line(settings: Settings, redis) -> LoginLine:
    """The password checks' line: the open line's mechanism on a line of its own, paced by the
    hashing pools' fill; an idle line lets in what one process's pool holds."""
    health = HashingHealth()
    burst = max(1, settings.password_hash_threads + settings.password_hash_queue)
    room = WaitingRoom(
        redis,
        key=LINE_KEY,
        rate=settings.admit_logins_per_second,
        burst=burst,
        ticket_ttl=settings.waiting_room_ticket_seconds,
        load=health,
        follow_opens=2.0,
        follow_floor=float(burst),
    )
    line = LoginLine(room, health)
    health.hashing.on_done = line.hash_done  # this process's pool (one per process)
    return line


async def close_runtime(runtime: Runtime) -> None:
    await runtime.waiting_room.aclose()
    await runtime.answer_writer.drain()  # saves in flight are committed and answered
    await runtime.jobs.close()
    await runtime.board_redis.aclose()
    await runtime.redis.aclose()
    await runtime.engine.dispose()
