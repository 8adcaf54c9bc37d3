"""Running Alembic migrations from code (the CLI, `make run`, and the test suite)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["skip_logging"] = True
    return config


def upgrade_to_head() -> None:
    command.upgrade(alembic_config(), "head")


def current_revision() -> str | None:
    """The database's schema revision (None for an empty database)."""
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from app.config import get_settings
    from app.core.db import create_engine

    async def read() -> str | None:
        engine = create_engine(get_settings())
        try:
            async with engine.connect() as conn:
                return await conn.scalar(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no alembic_version table yet
            return None
        finally:
            await engine.dispose()

    return asyncio.run(read())
