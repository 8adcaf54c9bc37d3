"""SQLAlchemy engine, sessions and column types shared by every feature."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from app.config import Settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, str):  # SQLite returning raw text from a literal query
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_engine(settings: Settings) -> AsyncEngine:
    url = settings.effective_database_url
    if settings.db_echo:
        # Through the app's own log handler (JSON, masked), not SQLAlchemy's echo handler.
        logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)
    if url.startswith("sqlite"):
        # hide_parameters: a failed statement's values (phone, CCCD, password hash) never reach a log.
        engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
        _make_sqlite_serializable(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=settings.db_pool_pre_ping,
        pool_recycle=1800,
        hide_parameters=True,
        # Fail fast when PostgreSQL is unreachable: the participant gets "try again" in seconds,
        # not a hung request (asyncpg's default connect timeout is 60 s).
        connect_args={"timeout": 5},
    )


def _make_sqlite_serializable(engine: AsyncEngine) -> None:
    # SQLite's default deferred transactions fail with "database is locked" when two
    # transactions both upgrade from reading to writing. BEGIN IMMEDIATE takes the write lock
    # up front, so concurrent requests queue (busy timeout) instead of failing.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine, info: dict | None = None) -> async_sessionmaker[AsyncSession]:
    """`info`: what every session's `Session.info` starts with (the runtime's caches, app/core/runtime.py)."""
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info)


async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with factory() as session:
        yield session


async def reads_outside_transaction(db: AsyncSession) -> None:
    """For the rest of `db`'s current use, on PostgreSQL, each statement runs on its own (the
    connection in autocommit): no BEGIN before a read and no COMMIT or ROLLBACK after it, two
    round trips fewer for a request that reads once (the board's read after a submit: 7.5 -> 5.6 ms
    CPU per submit in `make bench-steps`; the contest page measured no better with it, so it keeps
    its transaction). Only for reads that need no snapshot shared between statements; the next
    commit or rollback hands the connection back to the pool, which restores its isolation level.
    SQLite keeps its transactions: they are its locking (`_make_sqlite_serializable`). A session
    already in a transaction is left as it is."""
    if not db.in_transaction() and db.get_bind().dialect.name == "postgresql":
        await db.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def is_unique_violation(exc: Exception) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "unique" in text or "duplicate key" in text


def upsert_statement(dialect_name: str, table, values: dict, key_columns: list[str], update_columns: list[str]):
    """INSERT ... ON CONFLICT (key) DO UPDATE for PostgreSQL and SQLite alike."""
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values)  # type: ignore[assignment]
    return stmt.on_conflict_do_update(index_elements=key_columns, set_={c: stmt.excluded[c] for c in update_columns})
