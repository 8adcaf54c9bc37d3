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
