"""The server's Alembic migration creates exactly the tables of the models, and downgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from storage.database import create_db_engine
from storage.migrate import alembic_config, current_revision, head_revision, upgrade
from storage.schema import metadata
from storage.server import models  # noqa: F401  (registers the server tables)


def test_migration_matches_models(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            diff = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), metadata
            )
        assert diff == []
    finally:
        engine.dispose()


def test_downgrade_to_event_log_only(database_url: str) -> None:
    from alembic import command

    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        config = alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0001_event_log")
        tables = set(inspect(engine).get_table_names())
        assert "events" in tables and "sites" not in tables and "site_events" not in tables
        upgrade(engine)
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()
