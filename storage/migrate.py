"""Run the Alembic migrations programmatically (``zsm db upgrade``; the daemon and server on start).

A database already at the newest revision is recognised without loading Alembic (the head is read from
the migration files), which keeps Alembic and its templates out of the daemon's memory.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config
    from sqlalchemy import Engine

__all__ = [
    "ALEMBIC_DIR",
    "alembic_config",
    "current_revision",
    "head_revision",
    "sqlite_revision",
    "upgrade",
    "upgrade_sqlite",
]

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
    from sqlalchemy import inspect

    if not inspect(engine).has_table("alembic_version"):
        return None
    with engine.connect() as connection:
        row = connection.exec_driver_sql("SELECT version_num FROM alembic_version").first()
    return None if row is None else str(row[0])


def sqlite_revision(path: Path | str) -> str | None:
    """The revision of the SQLite file at ``path`` read with :mod:`sqlite3` alone (``None``: no file, an
    empty database or one without a revision)."""
    if not Path(path).is_file():
        return None
    connection = sqlite3.connect(str(path))
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table
        return None
    finally:
        connection.close()
    return None if row is None else str(row[0])


def upgrade_sqlite(path: Path | str) -> None:
    """Migrate the SQLite file at ``path`` to the head revision (nothing to do when it is there already).

    The migration runs in a child process unless SQLAlchemy is loaded in this one already: Alembic,
    SQLAlchemy and the migration scripts (about 25 MB) then never enter a long-running daemon's memory.
    """
    if sqlite_revision(path) == head_revision():
        return
    if "sqlalchemy" not in sys.modules:
        subprocess.run([sys.executable, "-m", "storage.migrate", str(path)], check=True)
        return
    from storage.database import create_db_engine, sqlite_url

    engine = create_db_engine(sqlite_url(path))
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def _main(argv: list[str]) -> int:
    """``python -m storage.migrate PATH``: migrate one SQLite file (what :func:`upgrade_sqlite` runs)."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m storage.migrate SQLITE_PATH\n")
        return 2
    from storage.database import create_db_engine, sqlite_url

    engine = create_db_engine(sqlite_url(argv[0]))
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
