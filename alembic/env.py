"""Alembic environment: one migration history for SQLite and PostgreSQL.

The database comes from, in order: a connection handed over by :mod:`storage.migrate`
(``config.attributes["connection"]``), ``-x url=...`` on the command line, ``$ZSM_DATABASE_URL``.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection

from alembic import context
from storage import schema  # noqa: F401  (registers every table on the metadata)
from storage.server import models as server_models  # noqa: F401

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = schema.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or os.environ.get("ZSM_DATABASE_URL")
    if not url:
        raise SystemExit("no database: pass -x url=... or set ZSM_DATABASE_URL")
    engine = create_engine(url)
    with engine.connect() as conn:
        _configure(conn)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported; run against a database")
run_migrations_online()
