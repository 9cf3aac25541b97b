"""``zsm plan``: plan the battery from day-ahead prices, or backtest a plan on a recorded period.

    zsm plan --prices FILE [--log LOG.db] [--soc PCT] [--schedule IN.json] [--out OUT.json]
    zsm plan --backtest LOG.db|TRACE.csv --prices FILE [--soc PCT] [--json]

Without ``--prices`` the prices are fetched from ``[prices]`` in the config. The plan merges into the schedule
given with ``--schedule`` (a person's slots win) and is written to ``--out`` (else printed). Exit 0 on
success, 2 when an input cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "plan",
        help="plan the battery from day-ahead prices (LP with HiGHS), or backtest a plan",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--prices", type=Path, help="price file (EnergyZero/aWATTar JSON, ENTSO-E XML, JSON, CSV)"
    )
    parser.add_argument(
        "--backtest", type=Path, metavar="LOG", help="event log (.db) or trace (.csv) to replay"
    )
    parser.add_argument("--log", type=Path, help="event log to learn the load profile and SoC from")
    parser.add_argument("--soc", type=float, help="SoC now / at the start of the backtest, percent")
    parser.add_argument(
        "--schedule", type=Path, help="schedule JSON the plan merges into (person's slots win)"
    )
    parser.add_argument("--out", type=Path, help="write the merged schedule JSON here")
    parser.add_argument("--pv-scale", type=float, default=1.0, help="scale of a trace's pv_w column")
    parser.add_argument(
        "--forecast", choices=("perfect", "profile"), default="perfect", help="backtest forecast (see README)"
    )
    parser.add_argument("--json", action="store_true", help="print the backtest as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from controller.cli.common import settings_or_exit
    from controller.planning.history import TraceError
    from controller.planning.solver import PlanSolveError
    from controller.prices.fetch import PriceFetchError
    from controller.prices.model import PriceParseError

    settings = settings_or_exit(args)
    try:
        if args.backtest is not None:
            return _backtest(args, settings)
        return _plan(args, settings)
    except (OSError, ValueError, TraceError, PriceParseError, PriceFetchError, PlanSolveError) as err:
        print(f"zsm plan: {err}", file=sys.stderr)
        return 2


def _backtest(args: argparse.Namespace, settings: Any) -> int:
    from datetime import timedelta

    from controller.planning.backtest import backtest
    from controller.planning.history import load_samples, read_trace, tile_trace
    from controller.planning.report import backtest_json, format_backtest
    from controller.planning.settings_bridge import battery_model, tariff
    from controller.prices.files import read_price_file
    from controller.prices.tariff import apply_tariff

    if args.prices is None:
        raise ValueError("--backtest needs --prices FILE")
    intervals = apply_tariff(read_price_file(args.prices), tariff(settings))
    start, end = intervals[0].start, intervals[-1].end
    history = []
    if args.backtest.suffix.lower() == ".csv":
        samples = tile_trace(read_trace(args.backtest, args.pv_scale), start, end)
    else:
        samples = load_samples(args.backtest, start, end, settings.site_id)
        if args.forecast == "profile":
            history = load_samples(args.backtest, start - timedelta(days=28), start, settings.site_id)
    report = backtest(
        samples,
        intervals,
        battery_model(settings),
        args.soc if args.soc is not None else 50.0,
        step=timedelta(minutes=settings.planner.step_min),
        timezone=settings.planner.timezone,
        forecast=args.forecast,
        history=history,
    )
    print(
        json.dumps(backtest_json(report), indent=2)
        if args.json
        else format_backtest(report, settings.planner.timezone)
    )
    return 0


def _plan(args: argparse.Namespace, settings: Any) -> int:
    from controller.clock import SystemClock
    from controller.planning.report import format_slots
    from controller.planning.runner import plan_schedule
    from controller.prices.fetch import PriceSource

    source = PriceSource.model_validate(settings.prices.source_fields())
    schedule = plan_schedule(
        settings,
        SystemClock(),
        price_file=args.prices,
        source=source,
        log_path=args.log,
        soc_pct=args.soc,
        base_path=args.schedule,
    )
    text = schedule.model_dump_json(indent=2, exclude_none=True)
    if args.out is not None:
        args.out.write_text(text + "\n")
    else:
        print(text)
    print(format_slots(schedule, settings.planner.timezone), file=sys.stderr)
    return 0
