"""``zsm db upgrade`` / ``zsm db current``: migrate the database or show its revision."""

from __future__ import annotations

import argparse
from typing import Any

from controller.cli.common import settings_or_exit

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("db", help="database migrations")
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    for name, helptext, func in (
        ("upgrade", "migrate the database to the newest schema", _upgrade),
        ("current", "print the schema revision of the database", _current),
    ):
        action = actions.add_parser(name, help=helptext)
        action.add_argument(
            "--database-url", default=None, help="SQLAlchemy URL (default: the daemon's database_path)"
        )
        action.set_defaults(func=func)


def _url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    from storage.database import sqlite_url

    return sqlite_url(settings_or_exit(args).database_path)


def _upgrade(args: argparse.Namespace) -> int:
    from storage.database import create_db_engine
    from storage.migrate import current_revision, upgrade

    engine = create_db_engine(_url(args))
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    engine.dispose()
    return 0


def _current(args: argparse.Namespace) -> int:
    from storage.database import create_db_engine
    from storage.migrate import current_revision

    engine = create_db_engine(_url(args))
    print(current_revision(engine) or "(empty database)")
    engine.dispose()
    return 0
