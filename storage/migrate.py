"""Run the Alembic migrations programmatically (``zsm db upgrade``; the daemon and server on start).

A database already at the newest revision is recognised without loading Alembic (the head is read from
the migration files), which keeps Alembic and its templates out of the daemon's memory.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, inspect

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["ALEMBIC_DIR", "alembic_config", "current_revision", "head_revision", "upgrade"]

LOGGER = logging.getLogger(__name__)

ALEMBIC_DIR = Path(__file__).resolve().parent.parent / "alembic"
_REVISION = re.compile(r"^revision(?:: str)? = ['\"]([^'\"]+)['\"]", re.M)
_DOWN = re.compile(r"^down_revision(?:: [^=]+)? = ['\"]([^'\"]+)['\"]", re.M)


def alembic_config() -> Config:
    """The Alembic config of the repository's single migration history."""
    from alembic.config import Config

    ini = ALEMBIC_DIR / "alembic.ini"
    if not ini.is_file():
        raise FileNotFoundError(f"alembic configuration missing: {ini} (install zsm from its source tree)")
    return Config(str(ini))


def head_revision() -> str:
    """The newest revision of the (linear) history, read from the migration files."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (ALEMBIC_DIR / "versions").glob("*.py"):
        text = path.read_text()
        if match := _REVISION.search(text):
            revisions.add(match.group(1))
        if match := _DOWN.search(text):
            parents.add(match.group(1))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migration history must have one head, found {sorted(heads)}")
    return heads.pop()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` (idempotent)."""
    if revision == "head" and current_revision(engine) == head_revision():
        return
    from alembic import command

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
