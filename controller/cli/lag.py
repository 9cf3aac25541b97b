"""``zsm lag LOG.db``: the meter lag the log shows (battery steps echoed by the meter), with a confidence,
and the battery's dead time and ramp (its readings after each write)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "lag",
        help="estimate the meter lag, the battery dead time and ramp from a log, with confidence figures",
        description=__doc__,
    )
    parser.add_argument("log", help="the daemon's SQLite event log (LOG.db)")
    parser.add_argument(
        "--hours", type=float, default=None, help="only the last H hours of the log (default: all of it)"
    )
    parser.add_argument(
        "--window", type=float, default=None, metavar="MIN", help="also one estimate per MIN minutes (drift)"
    )
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per machine step otherwise
    import json
    from datetime import timedelta

    from controller.cli.common import settings_or_exit
    from controller.logtools.common import LogFileError, last_event_time, open_log
    from controller.logtools.dead_time import estimate_dead_time, format_dead_time, format_ramp
    from controller.logtools.lag import estimate_lag, estimate_lag_windows, format_lag, format_windows

    settings = settings_or_exit(args)
    kinds = ["meter_reading", "battery_reading", "command_issued"]
    try:
        log = open_log(args.log)
    except LogFileError as err:
        print(f"zsm lag: {err}", file=sys.stderr)
        return 2
    try:
        end = last_event_time(log)
        if end is None:
            print("zsm lag: the log is empty", file=sys.stderr)
            return 2
        start = end - timedelta(hours=args.hours) if args.hours else end - timedelta(days=36_500)
        events = [stored.event for stored in log.iter_range(start, end + timedelta(seconds=1), kinds)]
    finally:
        log.close()
    report = estimate_lag(events, settings.regulation)
    dead_time = estimate_dead_time(events)
    windows = []
    if args.window:
        windows = estimate_lag_windows(events, timedelta(minutes=args.window), settings.regulation)
    if args.json:
        data = report.model_dump(mode="json")
        data["battery_dead_time"] = dead_time.model_dump(mode="json")
        if args.window:
            data["windows"] = [w.model_dump(mode="json") for w in windows]
        print(json.dumps(data, indent=2))
    else:
        print(format_lag(report))
        print(format_dead_time(dead_time))
        print(format_ramp(dead_time))
        if windows:
            print()
            print(format_windows(windows))
    return 0 if report.lag_s is not None else 1
