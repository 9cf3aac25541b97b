"""``zsm site add NAME`` (prints the controller token once), ``zsm site list``, ``zsm site token NAME``,
``zsm site revoke-token NAME [--token T]``, ``zsm site remove NAME --yes``."""

from __future__ import annotations

import argparse
from typing import Any

from controller.cli.serve import add_database_url, server_database_url

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("site", help="manage the server's sites (homes) and their tokens")
    actions = parser.add_subparsers(dest="site_action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="create a site and print its controller token (shown once)")
    add.add_argument("name", help="site name: a-z, 0-9, '-' and '_'")
    add_database_url(add)
    add.set_defaults(func=_add)
    listing = actions.add_parser("list", help="list the sites")
    add_database_url(listing)
    listing.set_defaults(func=_list)
    token = actions.add_parser("token", help="issue an additional controller token for a site")
    token.add_argument("name")
    add_database_url(token)
    token.set_defaults(func=_token)
    revoke = actions.add_parser("revoke-token", help="revoke a site's controller token (or all of them)")
    revoke.add_argument("name")
    revoke.add_argument(
        "--token", default=None, help="the token to revoke (default: every token of the site)"
    )
    add_database_url(revoke)
    revoke.set_defaults(func=_revoke)
    remove = actions.add_parser(
        "remove", help="delete a site with its tokens, schedules, events and telemetry"
    )
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="really delete (nothing is deleted without it)")
    add_database_url(remove)
    remove.set_defaults(func=_remove)


def _engine(args: argparse.Namespace) -> Any:
    from storage.database import create_db_engine
    from storage.migrate import upgrade

    engine = create_db_engine(server_database_url(args), private=True)
    upgrade(engine)
    return engine


def _add(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from storage.server.errors import ServerError
    from storage.server.services.sites import create_site

    engine = _engine(args)
    try:
        site, token = create_site(engine, args.name, SystemClock().now())
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(f"site {site.name} created. Its controller token (shown only now; put it in the daemon's config):")
    print(token)
    return 0


def _list(args: argparse.Namespace) -> int:
    from storage.server.services.sites import list_sites

    engine = _engine(args)
    for site in list_sites(engine):
        print(site.name)
    engine.dispose()
    return 0


def _token(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from storage.server.errors import ServerError
    from storage.server.services.sites import add_site_token, get_site

    engine = _engine(args)
    try:
        token = add_site_token(engine, get_site(engine, args.name), SystemClock().now())
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(token)
    return 0


def _revoke(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from storage.server.errors import ServerError
    from storage.server.services.sites import get_site, revoke_tokens

    engine = _engine(args)
    try:
        count = revoke_tokens(engine, get_site(engine, args.name), SystemClock().now(), args.token)
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    if count == 0:
        print(f"error: no active token {'like that ' if args.token else ''}for site {args.name}")
        return 1
    print(f"revoked {count} token(s) of site {args.name} (a running server honours this within a minute)")
    return 0


def _remove(args: argparse.Namespace) -> int:
    from storage.server.errors import ServerError
    from storage.server.services.sites import get_site, remove_site

    engine = _engine(args)
    try:
        site = get_site(engine, args.name)
        if not args.yes:
            print(f"this deletes site {site.name} with all its events and telemetry; repeat with --yes")
            return 1
        remove_site(engine, site)
    except ServerError as err:
        print(f"error: {err.detail}")
        return 1
    finally:
        engine.dispose()
    print(f"site {args.name} removed")
    return 0
