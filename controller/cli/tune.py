"""``zsm tune LOG.db``: rebuild the household from a log and grid-search regulator settings on it.

Every combination of --deadband, --interval, --offset and --lag-values (thinned evenly to --max-runs; the
current settings always run) is simulated with the real core + regulator against the plant, over the
last --hours of the log, in the log's regulated mode, with the meter lag the log shows (or --plant-lag).
The best runs by avoidable grid energy (then writes per hour) are printed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from err


def _lags(text: str) -> tuple[float | str, ...]:
    values: list[float | str] = []
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part == "auto":
            values.append("auto")
            continue
        try:
            values.append(float(part))
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"a lag is seconds or 'auto', got {part!r}") from err
    return tuple(values)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "tune",
        help="grid-search regulator settings in simulation over a log's household",
        description=__doc__,
    )
    parser.add_argument("log", help="the daemon's SQLite event log (LOG.db)")
    parser.add_argument("--hours", type=float, default=6.0, help="simulate the last H hours (default 6)")
    parser.add_argument("--deadband", type=_floats, default=(15.0, 25.0, 40.0), help="W, e.g. 15,25,40")
    parser.add_argument("--interval", type=_floats, default=(5.0, 10.0, 20.0), help="write interval s")
    parser.add_argument("--offset", type=_floats, default=(0.0, 15.0), help="grid target offsets W")
    parser.add_argument(
        "--lag-values",
        type=_lags,
        default=None,
        help="regulator lag settings, e.g. auto,18,20 (default: auto and the estimated lag ±3 s)",
    )
    parser.add_argument(
        "--plant-lag", type=float, default=None, help="meter lag of the simulated plant (default: estimated)"
    )
    parser.add_argument("--max-runs", type=int, default=24, help="at most this many simulations (default 24)")
    parser.add_argument("--top", type=int, default=5, help="rows to print (default 5)")
    parser.add_argument("--jobs", type=int, default=1, help="parallel simulations (default 1)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print every run as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per machine step otherwise
    from datetime import timedelta

    from tqdm import tqdm

    from controller.cli.common import settings_or_exit
    from controller.logtools.common import LogFileError, last_event_time, open_log
    from controller.logtools.lag import estimate_lag
    from controller.logtools.tune import TuneGrid, TuneRun, format_tune, reconstruct, tune

    settings = settings_or_exit(args)
    try:
        log = open_log(args.log)
    except LogFileError as err:
        print(f"zsm tune: {err}", file=sys.stderr)
        return 2
    try:
        end = last_event_time(log)
        if end is None:
            print("zsm tune: the log is empty", file=sys.stderr)
            return 2
        # a margin before the window, so the battery model knows what the battery did one lag earlier
        start = end - timedelta(hours=args.hours, seconds=settings.regulation.lag_max_s + 60)
        kinds = ["meter_reading", "battery_reading", "command_issued", "state_changed"]
        events = [stored.event for stored in log.iter_range(start, end + timedelta(seconds=1), kinds)]
    finally:
        log.close()
    lag = args.plant_lag
    if lag is None:
        estimate = estimate_lag(events, settings.regulation)
        if estimate.lag_s is None:
            print("zsm tune: cannot tell the meter lag from the log; give --plant-lag", file=sys.stderr)
            return 2
        lag = estimate.lag_s
        print(f"meter lag from the log: {lag:.1f} s (confidence {estimate.confidence:.2f})", file=sys.stderr)
    try:
        rebuilt = reconstruct(events, lag, settings.regulation, max_seconds=int(args.hours * 3600))
    except ValueError as err:
        print(f"zsm tune: {err}", file=sys.stderr)
        return 2
    base = round(lag)
    lags = args.lag_values or ("auto", float(base - 3), float(base), float(base + 3))
    grid = TuneGrid(
        deadband_w=args.deadband, min_write_interval_s=args.interval, target_offset_w=args.offset, lag_s=lags
    )
    bar = tqdm(
        total=min(args.max_runs, 1 + len(args.deadband) * len(args.interval) * len(args.offset) * len(lags)),
        unit="run",
        disable=args.no_progress or args.json,
        file=sys.stderr,
    )

    def advance(_run: TuneRun) -> None:
        bar.update(1)

    try:
        report = tune(
            rebuilt,
            settings.regulation,
            settings.limits,
            grid,
            max_runs=args.max_runs,
            battery_read_interval_s=max(1, round(settings.battery.read_interval_s)),
            jobs=args.jobs,
            progress=advance,
        )
    finally:
        bar.close()
    print(report.model_dump_json(indent=2) if args.json else format_tune(report, top=args.top))
    return 0
