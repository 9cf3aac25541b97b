"""``zsm run``: the control daemon (what cron or systemd starts on the Raspberry Pi)."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime
from typing import Any

from controller.cli.common import settings_or_exit

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("run", help="run the control daemon")
    parser.add_argument("--max-ticks", type=int, default=None, help="stop after this many control ticks")
    sim = parser.add_argument_group("accelerated time (demos and end-to-end tests only)")
    sim.add_argument("--speed", type=float, default=None, help="run the clock N times faster than real time")
    sim.add_argument("--clock-start", default=None, help="ISO time the accelerated clock starts at")
    sim.add_argument("--clock-anchor", type=float, default=None, help="Unix time at which --clock-start was")
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from controller.clock import Clock, ScaledClock, SystemClock
    from controller.daemon.daemon import Daemon
    from controller.daemon.devices import build_devices
    from controller.daemon.lock import AlreadyRunning

    settings = settings_or_exit(args)
    logging.getLogger().setLevel(settings.daemon.log_level if not args.verbose else "DEBUG")
    clock: Clock = SystemClock()
    if args.speed is not None:
        start = datetime.fromisoformat(args.clock_start) if args.clock_start else SystemClock().now()
        clock = ScaledClock(start, args.speed, args.clock_anchor)
    daemon = Daemon(settings, clock, build_devices, max_ticks=args.max_ticks)
    try:
        return daemon.run()
    except AlreadyRunning as err:
        print(f"zsm: {err}", file=sys.stderr)
        return 3
