"""``zsm serve``: run the web server (migrates the database first)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
from typing import Any

__all__ = ["DEFAULT_SERVER_DB", "add_database_url", "plain_http_warning", "register", "server_database_url"]

DEFAULT_SERVER_DB = "zsm-server.db"
DATABASE_URL_ENV = "ZSM_SERVER_DATABASE_URL"


def add_database_url(parser: argparse.ArgumentParser) -> None:
    """The ``--database-url`` option shared by serve, site and user."""
    parser.add_argument(
        "--database-url",
        default=None,
        help=f"SQLAlchemy URL of the server database (default: ${DATABASE_URL_ENV}, "
        f"else SQLite ./{DEFAULT_SERVER_DB})",
    )


def server_database_url(args: argparse.Namespace) -> str:
    """The server database URL from the option, the environment, or the default SQLite file."""
    if getattr(args, "database_url", None):
        return str(args.database_url)
    if os.environ.get(DATABASE_URL_ENV):
        return os.environ[DATABASE_URL_ENV]
    from storage.database import sqlite_url

    return sqlite_url(DEFAULT_SERVER_DB)


LOGGER = logging.getLogger(__name__)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def plain_http_warning(host: str, certfile: str | None) -> str | None:
    """A warning when the server would take passwords and tokens in plain HTTP off this machine."""
    if certfile or _is_loopback(host):
        return None
    return (
        f"serving plain HTTP on {host}: passwords, session cookies and controller tokens cross the network "
        "unencrypted. Give --ssl-certfile/--ssl-keyfile, or listen on 127.0.0.1 behind a TLS proxy."
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("serve", help="run the zsm web server")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="TCP port (default 8080)")
    add_database_url(parser)
    parser.add_argument(
        "--secure-cookies",
        choices=("auto", "always", "never"),
        default="auto",
        help="Secure flag on the session cookie (auto: when the request arrived over https)",
    )
    parser.add_argument(
        "--forwarded-allow-ips",
        default=None,
        help="trust X-Forwarded-For/-Proto from these proxy addresses (e.g. 127.0.0.1) behind a TLS proxy",
    )
    parser.add_argument("--ssl-certfile", default=None, help="serve HTTPS with this PEM certificate (chain)")
    parser.add_argument("--ssl-keyfile", default=None, help="the certificate's PEM private key")
    parser.add_argument(
        "--heartbeat-stale-s", type=float, default=180.0, help="a site is stale past this heartbeat age"
    )
    parser.add_argument(
        "--plan-site",
        action="append",
        default=[],
        metavar="SITE",
        help="plan this site from prices with [planner], [prices], [limits] of --config (repeatable)",
    )
    parser.set_defaults(func=_serve)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from controller.cli.common import settings_or_exit
    from storage.server.app import create_app
    from storage.server.config import KEEP_ALIVE_S, ServerConfig

    if bool(args.ssl_certfile) != bool(args.ssl_keyfile):
        print("error: --ssl-certfile and --ssl-keyfile go together")
        return 2
    warning = plain_http_warning(args.host, args.ssl_certfile)
    if warning:
        LOGGER.warning("%s", warning)
        print(f"warning: {warning}")
    config = ServerConfig(
        database_url=server_database_url(args),
        secure_cookies=args.secure_cookies,
        heartbeat_stale_s=args.heartbeat_stale_s,
        plan_sites=tuple(args.plan_site),
        planner_settings=settings_or_exit(args) if args.plan_site else None,
    )
    app = create_app(config)
    proxy = args.forwarded_allow_ips is not None
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        proxy_headers=proxy,
        forwarded_allow_ips=args.forwarded_allow_ips if proxy else None,
        server_header=False,
        ssl_certfile=args.ssl_certfile,
        ssl_keyfile=args.ssl_keyfile,
        timeout_keep_alive=int(KEEP_ALIVE_S),
        log_level="info",
    )
    return 0
