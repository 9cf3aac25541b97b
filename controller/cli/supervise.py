"""``zsm supervise``: run the daemon, restart it within seconds when it crashes (cron and systemd use it)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "supervise", help="run the control daemon and restart it within seconds when it crashes"
    )
    parser.add_argument(
        "run_args", nargs=argparse.REMAINDER, help="extra arguments for `zsm run` (e.g. --max-ticks 100)"
    )
    parser.set_defaults(func=_supervise)


def _supervise(args: argparse.Namespace) -> int:
    from controller.daemon.supervisor import Supervisor

    command = [sys.executable, "-m", "controller"]
    if args.config:
        command += ["--config", args.config]
    if args.verbose:
        command.append("--verbose")
    supervisor = Supervisor([*command, "run", *args.run_args])
    supervisor.install_signals()
    return supervisor.run()
