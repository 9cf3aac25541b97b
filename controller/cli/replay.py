"""``zsm replay LOG.db``: re-drive the current core + regulator with a log's inputs; compare the commands.

Exit 0 when every recorded command is reproduced, 1 when they differ (the first differences are listed),
2 when the log or the settings cannot be used.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="re-feed a log's readings through the current machine and regulator; compare the commands",
        description=__doc__,
    )
    parser.add_argument("log", help="the daemon's SQLite event log (LOG.db)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--tolerance", type=float, default=1.0, help="seconds a replayed command may be off (default 1)"
    )
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override a setting for the replay, e.g. regulation.deadband_w=40 (repeatable)",
    )
    parser.add_argument("--max-differences", type=int, default=20, help="differences to list (default 20)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per machine step otherwise
    from controller.cli.common import settings_or_exit
    from controller.logtools.common import LogFileError, open_log, settings_with
    from controller.logtools.replay import format_report, replay_events

    try:
        settings = settings_with(settings_or_exit(args), args.overrides)
        log = open_log(args.log)
    except (ValueError, LogFileError) as err:
        print(f"zsm replay: {err}", file=sys.stderr)
        return 2
    try:
        report = replay_events(
            log.iter_events(), settings, tolerance_s=args.tolerance, max_differences=args.max_differences
        )
    finally:
        log.close()
    print(report.model_dump_json(indent=2) if args.json else format_report(report))
    return 0 if report.reproduced else 1
