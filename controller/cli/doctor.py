"""``zsm doctor``: check a real installation (config, devices, lag, server, clock, disk)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check the installation: config, devices, server, clock, disk"
    )
    parser.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from controller.doctor import exit_code, format_checks, run_checks

    checks = run_checks(args.config, SystemClock())
    print(format_checks(checks))
    return exit_code(checks)
