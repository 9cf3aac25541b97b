"""Engines for SQLite (the daemon's log, the default server store) and PostgreSQL.

SQLite is set up for a Raspberry Pi on an SD card: WAL journal, ``synchronous=FULL`` (a committed control
tick survives power loss), a busy timeout, and foreign keys on. Engines are built by call, never at import.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

__all__ = ["create_db_engine", "sqlite_url"]

BUSY_TIMEOUT_MS = 5_000


def sqlite_url(path: Path | str) -> str:
    """SQLAlchemy URL of a SQLite file."""
    return f"sqlite+pysqlite:///{Path(path)}"


def _compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite's own transaction handling is turned off so that SQLAlchemy's BEGIN is the real one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin_sqlite(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


def _create_private(path: Path) -> None:
    """Create ``path`` readable and writable by its owner only (SQLite gives its WAL files the same mode)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        return
    os.chmod(path, 0o600)  # the umask may have taken bits away, never added: make it exact


def create_db_engine(url: str, *, echo: bool = False, private: bool = False) -> Engine:
    """An engine for ``url`` (``sqlite+pysqlite:///file.db`` or ``postgresql+psycopg://...``).

    ``private``: a SQLite file that does not exist yet is created with mode 0600 (the server's store,
    which holds password and token hashes).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            if private:
                _create_private(Path(parsed.database))
        kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
        if parsed.database in (None, "", ":memory:"):
            kwargs["poolclass"] = StaticPool  # one shared connection, or the data would vanish
        engine = create_engine(url, echo=echo, json_serializer=_compact_json, **kwargs)
        event.listen(engine, "connect", _set_sqlite_pragmas)
        event.listen(engine, "begin", _begin_sqlite)
        return engine
    return create_engine(url, echo=echo, json_serializer=_compact_json, pool_pre_ping=True)
