"""``zsm audit LOG.db --at "2026-11-24 18:03"``: the command in force then, and the events that decided it.

The time is local to the schedule's timezone (the newest schedule in the log; else Europe/Amsterdam) unless
it carries an offset or ``Z``; ``--tz`` names another zone.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit", help="explain the command in force at a moment, in plain words", description=__doc__
    )
    parser.add_argument("log", help="the daemon's SQLite event log (LOG.db)")
    parser.add_argument("--at", required=True, help="the moment, e.g. '2026-11-24 18:03' (local time)")
    parser.add_argument("--tz", default=None, help="IANA timezone of --at (default: the schedule's)")
    parser.add_argument("--json", action="store_true", help="print the audit as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per machine step otherwise
    from controller.logtools.audit import (
        collect_audit_events,
        explain_at,
        format_audit,
        log_timezone,
        parse_at,
    )
    from controller.logtools.common import LogFileError, open_log, zone

    try:
        log = open_log(args.log)
    except LogFileError as err:
        print(f"zsm audit: {err}", file=sys.stderr)
        return 2
    try:
        tz_name = args.tz or log_timezone(log)
        try:
            at = parse_at(args.at, zone(tz_name))
        except (ValueError, KeyError) as err:
            print(f"zsm audit: {err}", file=sys.stderr)
            return 2
        audit = explain_at(collect_audit_events(log, at), at, tz_name)
    finally:
        log.close()
    print(audit.model_dump_json(indent=2) if args.json else format_audit(audit))
    return 0 if audit.command is not None else 1
