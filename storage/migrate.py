"""Run the Alembic migrations programmatically (``zsm db upgrade``; the daemon and server on start)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic.config import Config
from sqlalchemy import Engine, inspect

from alembic import command

__all__ = ["alembic_config", "current_revision", "upgrade"]

LOGGER = logging.getLogger(__name__)

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config() -> Config:
    """The Alembic config of the repository's single migration history."""
    ini = ALEMBIC_DIR / "alembic.ini"
    if not ini.is_file():
        raise FileNotFoundError(f"alembic configuration missing: {ini} (install zsm from its source tree)")
    return Config(str(ini))


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (idempotent)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    LOGGER.debug("database migrated to %s", revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` for an empty database."""
    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])
