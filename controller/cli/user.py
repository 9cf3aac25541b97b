"""``zsm user add NAME --role SITE=editor``, ``zsm user role NAME SITE ROLE``, ``zsm user passwd NAME``."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from controller.cli.serve import add_database_url, server_database_url

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("user", help="manage people who log in to the web page")
    actions = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a user")
    add.add_argument("username")
    add.add_argument(
        "--role",
        action="append",
        default=[],
        metavar="SITE=ROLE",
        help="viewer or editor on SITE (repeatable)",
    )
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_database_url(add)
    add.set_defaults(func=_add)
    role = actions.add_parser("role", help="set a user's role on a site (viewer, editor or none)")
    role.add_argument("username")
    role.add_argument("site")
    role.add_argument("role", choices=("viewer", "editor", "none"))
    add_database_url(role)
    role.set_defaults(func=_role)
    passwd = actions.add_parser("passwd", help="set a new password (also lifts a lockout)")
    passwd.add_argument("username")
    passwd.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add_database_url(passwd)
    passwd.set_defaults(func=_passwd)


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise SystemExit(
            "error: no terminal to ask for the password on; "
            'pipe it in instead: echo "$PASSWORD" | zsm user ... --password-stdin'
        )
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise SystemExit("error: the passwords differ")
    return first


def _engine(args: argparse.Namespace) -> Any:
    from storage.database import create_db_engine
    from storage.migrate import upgrade

    engine = create_db_engine(server_database_url(args), private=True)
    upgrade(engine)
    return engine


def _add(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from storage.server.errors import ServerError
    from storage.server.services.users import create_user, set_role

    roles = []
    for item in args.role:
        site, sep, role = item.partition("=")
        if not sep or role not in ("viewer", "editor"):
            print(f"error: --role wants SITE=viewer or SITE=editor, not {item!r}")
            return 2
        roles.append((site, role))
    password = _password(args)
    engine = _engine(args)
    try:
        create_user(engine, args.username, password, SystemClock().now())
        for site, role in roles:
            set_role(engine, args.username, site, role)
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(f"user {args.username} created" + "".join(f"; {role} on {site}" for site, role in roles))
    return 0


def _role(args: argparse.Namespace) -> int:
    from storage.server.errors import ServerError
    from storage.server.services.users import set_role

    engine = _engine(args)
    try:
        set_role(engine, args.username, args.site, None if args.role == "none" else args.role)
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(f"{args.username}: {args.role} on {args.site}")
    return 0


def _passwd(args: argparse.Namespace) -> int:
    from storage.server.errors import ServerError
    from storage.server.services.users import set_password

    password = _password(args)
    engine = _engine(args)
    try:
        set_password(engine, args.username, password)
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(f"password of {args.username} changed")
    return 0
