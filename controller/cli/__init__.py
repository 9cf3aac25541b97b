"""The ``zsm`` command line. Each subcommand lives in its own module under :mod:`controller.cli`.

A module listed in :data:`COMMAND_MODULES` defines ``register(subparsers)``, which adds its subparser and
sets ``func`` (a callable taking the parsed ``argparse.Namespace`` and returning an exit code).
Modules are imported lazily at start so a broken optional part cannot take the whole CLI down.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence

from controller import __version__

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "controller.cli.db",
    "controller.cli.config",
    "controller.cli.demo",
    "controller.cli.doctor",
    "controller.cli.run",
    "controller.cli.supervise",
    "controller.cli.serve",
    "controller.cli.site",
    "controller.cli.user",
    "controller.cli.simulate",
    "controller.cli.replay",
    "controller.cli.tune",
    "controller.cli.lag",
    "controller.cli.audit",
    "controller.cli.sim_devices",
    "controller.cli.discover",
    "controller.cli.discover_mqtt",
    "controller.cli.pair_meter",
    "controller.cli.plan",
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(prog="zsm", description="Zendure Schedule Management")
    parser.add_argument("--version", action="version", version=f"zsm {__version__}")
    parser.add_argument(
        "--config", default=None, help="TOML config file (default: $ZSM_CONFIG, else built-in defaults)"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``zsm`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:  # libraries that narrate every step at INFO
        for name in ("alembic", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    return func(args)
