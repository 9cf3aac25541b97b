"""``zsm simulate``: run the real machine + regulator against a plant in virtual time and print the metrics.

The plant flags (``--lag``, ``--assume-lag``, ``--battery-*``) have fixed names so that scripts can rely on
them. Without ``--trace`` a seeded synthetic household is used.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from controller.clock import utc

__all__ = ["register"]

_CONTROLLERS = ("zsm", "naive", "oracle", "lagged-oracle", "lagged-oracle-plant", "lagged-oracle-budget")


def _lag_arg(text: str) -> float | str:
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected seconds or 'auto', got {text!r}") from err
    if value < 0:
        raise argparse.ArgumentTypeError("a lag cannot be negative")
    return value


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "simulate",
        help="simulate the controller against a household, battery and lagging meter (virtual time)",
        description="Run the real state machine and regulator against a plant model in virtual time.",
    )
    p.add_argument("--trace", type=Path, default=None, help="trace CSV (t_s,watts or t_s,load_w,pv_w)")
    p.add_argument("--trace-scale", type=float, default=1.0, help="multiply the trace's load and PV")
    p.add_argument("--controller", choices=_CONTROLLERS, default="zsm", help="which regulator (default zsm)")
    p.add_argument("--compare", action="store_true", help="run all four controllers and print one table")
    p.add_argument(
        "--mode", choices=("netzero", "netzero_plus"), default="netzero", help="default schedule mode"
    )
    p.add_argument("--schedule", type=Path, default=None, help="schedule JSON file (default: --mode all day)")
    p.add_argument("--seed", type=int, default=0, help="seed of the synthetic household and the meter noise")
    p.add_argument("--duration-h", type=float, default=None, help="simulate at most this many hours")
    p.add_argument(
        "--start",
        default="2026-06-01T06:00:00+00:00",
        help="virtual start time (ISO 8601; default 06:00 UTC)",
    )
    out = p.add_argument_group("output")
    out.add_argument("--json", action="store_true", help="print the metrics as JSON")
    out.add_argument("--timeseries", type=Path, default=None, metavar="OUT.csv", help="per-second CSV")
    out.add_argument("--plot", type=Path, default=None, metavar="OUT.png", help="PNG plot of the run")
    out.add_argument("--log", type=Path, default=None, metavar="OUT.db", help="event log of the run (SQLite)")
    out.add_argument("--no-progress", action="store_true", help="no progress bar")
    meter = p.add_argument_group("meter")
    meter.add_argument("--lag", type=float, default=20.0, help="the meter's true lag, s (default 20)")
    meter.add_argument(
        "--assume-lag",
        type=_lag_arg,
        default=None,
        help="lag the controller is told: S or auto (default: --lag)",
    )
    meter.add_argument(
        "--assume-lag-min", type=float, default=None, help="smallest lag the regulator must be stable for"
    )
    meter.add_argument(
        "--assume-lag-max", type=float, default=None, help="largest lag the regulator must be stable for"
    )
    meter.add_argument("--lag-mode", choices=("constant", "drift", "jitter"), default="constant")
    meter.add_argument("--lag-min", type=float, default=None, help="drift: smallest lag, s")
    meter.add_argument("--lag-max", type=float, default=None, help="drift: largest lag, s")
    meter.add_argument("--lag-drift-period-s", type=float, default=7200.0, help="drift: period, s")
    meter.add_argument("--lag-jitter-s", type=float, default=0.0, help="jitter: ± seconds per telegram")
    meter.add_argument("--meter-period-s", type=float, default=1.0, help="telegram period, s (1 or 10)")
    meter.add_argument("--meter-refresh-s", type=float, default=None, help="value refreshes only every N s")
    meter.add_argument("--meter-noise-w", type=float, default=0.0, help="Gaussian noise, W")
    meter.add_argument(
        "--meter-spike-prob", type=float, default=0.0, help="probability of a spike per telegram"
    )
    meter.add_argument("--meter-spike-w", type=float, default=1500.0, help="spike size, W")
    meter.add_argument("--meter-drop-prob", type=float, default=0.0, help="probability of a dropped telegram")
    bat = p.add_argument_group("battery")
    bat.add_argument("--battery-max-discharge-w", type=float, default=800.0)
    bat.add_argument("--battery-max-charge-w", type=float, default=1000.0)
    bat.add_argument("--battery-capacity-wh", type=float, default=1920.0)
    bat.add_argument("--battery-initial-soc", type=float, default=50.0, help="percent")
    bat.add_argument("--battery-dead-time-s", type=float, default=2.0)
    bat.add_argument("--battery-ramp-w-per-s", type=float, default=400.0)
    bat.add_argument(
        "--assume-battery-dead-time-s",
        type=_lag_arg,
        default=None,
        help="dead time the regulator is told (it learns the real one from the readings unless the "
        "config turns regulation.learn_dead_time off): S, or auto for the configured model "
        "(default: --battery-dead-time-s)",
    )
    bat.add_argument(
        "--assume-battery-ramp-w-per-s",
        type=float,
        default=None,
        help="ramp the regulator is told, W/s (default: --battery-ramp-w-per-s)",
    )
    bat.add_argument("--battery-start-threshold-w", type=float, default=50.0)
    bat.add_argument("--battery-quantum-w", type=float, default=0.0, help="output quantisation step, W")
    bat.add_argument("--battery-min-soc", type=float, default=5.0, help="device discharge cut-off, percent")
    bat.add_argument("--battery-max-soc", type=float, default=100.0, help="device charge cut-off, percent")
    bat.add_argument("--battery-read-interval-s", type=int, default=5, help="seconds between status reads")
    bat.add_argument("--target-offset-w", type=float, default=None, help="aim for this grid import (W)")
    many = p.add_argument_group("several batteries on the meter")
    many.add_argument(
        "--batteries",
        default=None,
        metavar="SPEC|FILE.json",
        help="e.g. 2x800,2400 or 2x800@15000 (Wh each; models: 800, 800pro, 2400, hyper2000, hub1200), "
        "or a JSON list of battery objects; the other --battery-* knobs apply to each",
    )
    many.add_argument(
        "--battery-socs", default=None, metavar="S1,S2,..", help="initial SoC of each battery, percent"
    )
    many.add_argument(
        "--battery-offline",
        action="append",
        default=[],
        metavar="NAME@SECONDS",
        help="battery NAME (b1, b2, ...) drops off the LAN at that second (repeatable)",
    )
    p.set_defaults(func=_simulate)


def _scenario(args: argparse.Namespace, settings: Any) -> Any:
    from controller.domain.regulation import RegulationMode
    from controller.simulation.closed_loop import Scenario
    from controller.simulation.plant import (
        BatteryParams,
        MeterParams,
        load_trace,
        synthetic_household,
    )
    from controller.simulation.plant_bank import PlantBank

    duration_s = int(args.duration_h * 3600) if args.duration_h is not None else None
    start = utc(datetime.fromisoformat(args.start))
    if args.trace is not None:
        house = load_trace(args.trace, scale=args.trace_scale)
    else:
        hour = start.hour + start.minute / 60  # the synthetic sun follows the virtual clock (UTC)
        house = synthetic_household(args.seed, duration_s or 6 * 3600, start_hour=hour)
        if args.trace_scale != 1.0:
            house = house.scaled(args.trace_scale)
    battery = BatteryParams(
        max_discharge_w=args.battery_max_discharge_w,
        max_charge_w=args.battery_max_charge_w,
        capacity_wh=args.battery_capacity_wh,
        initial_soc_pct=args.battery_initial_soc,
        min_soc_pct=args.battery_min_soc,
        max_soc_pct=args.battery_max_soc,
        dead_time_s=args.battery_dead_time_s,
        ramp_w_per_s=args.battery_ramp_w_per_s,
        start_threshold_w=args.battery_start_threshold_w,
        quantum_w=args.battery_quantum_w,
    )
    lag_min = args.lag_min if args.lag_min is not None else args.lag
    lag_max = args.lag_max if args.lag_max is not None else args.lag
    meter = MeterParams(
        period_s=args.meter_period_s,
        lag_s=(lag_min + lag_max) / 2 if args.lag_mode == "drift" else args.lag,
        lag_mode=args.lag_mode,
        lag_min_s=lag_min,
        lag_max_s=lag_max,
        drift_period_s=args.lag_drift_period_s,
        jitter_s=args.lag_jitter_s,
        refresh_s=args.meter_refresh_s,
        noise_w=args.meter_noise_w,
        spike_prob=args.meter_spike_prob,
        spike_w=args.meter_spike_w,
        drop_prob=args.meter_drop_prob,
        seed=args.seed,
    )
    batteries = _batteries(args, battery)
    rated = PlantBank.combined_params(batteries) if batteries else battery
    limits = settings.limits.model_copy(
        update={"max_discharge_w": int(rated.max_discharge_w), "max_charge_w": int(rated.max_charge_w)}
    )
    schedule = json.loads(args.schedule.read_text(encoding="utf-8")) if args.schedule is not None else None
    offset = args.target_offset_w if args.target_offset_w is not None else settings.regulation.target_offset_w
    return Scenario(
        household=house,
        battery=battery,
        meter=meter,
        mode=RegulationMode(args.mode),
        limits=limits,
        battery_read_interval_s=args.battery_read_interval_s,
        start=start,
        duration_s=duration_s,
        target_offset_w=offset,
        schedule=schedule,
        batteries=tuple(batteries),
        battery_offline_s=_offline(args.battery_offline, len(batteries)),
    )


def _batteries(args: argparse.Namespace, base: Any) -> list[Any]:
    """The bank of ``--batteries`` (empty: one battery)."""
    from controller.simulation.plant_bank import battery_file, parse_battery_list

    if args.batteries is None:
        if args.battery_socs or args.battery_offline:
            raise ValueError("--battery-socs and --battery-offline need --batteries")
        return []
    socs = [float(x) for x in args.battery_socs.split(",")] if args.battery_socs else []
    if args.batteries.endswith(".json"):
        return battery_file(Path(args.batteries), base, socs=socs)
    return parse_battery_list(args.batteries, base, socs=socs)


def _offline(items: list[str], count: int) -> tuple[tuple[str, float], ...]:
    out = []
    for item in items:
        name, sep, at = item.partition("@")
        names = [f"b{i + 1}" for i in range(count)]
        if not sep or name not in names:
            raise ValueError(f"--battery-offline {item!r}: expected NAME@SECONDS with NAME one of {names}")
        out.append((name, float(at)))
    return tuple(out)


def _simulate(args: argparse.Namespace) -> int:
    import importlib.util

    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        print(
            "zsm simulate: --plot needs matplotlib, which is not installed; "
            "install the plot extra: pip install 'zsm[plot]' (or leave out --plot)",
            file=sys.stderr,
        )
        return 2
    from controller.settings import ConfigError, load_settings
    from controller.simulation.closed_loop import (
        CONTROLLERS,
        SimResult,
        build_regulator,
        regulation_for,
        run_closed_loop,
        scenario_for,
    )
    from controller.simulation.plant import TraceFormatError
    from controller.simulation.report import format_table

    logging.getLogger("transitions").setLevel(logging.WARNING)  # one line per transition is too chatty here
    try:
        settings = load_settings(args.config)
        scenario = _scenario(args, settings)
    except (ConfigError, TraceFormatError, OSError, ValueError) as err:
        print(f"zsm simulate: {err}", file=sys.stderr)
        return 2
    regulation = regulation_for(
        scenario,
        settings.regulation,
        assume_lag=args.assume_lag,
        assume_dead_time_s=args.assume_battery_dead_time_s,
        assume_ramp_w_per_s=args.assume_battery_ramp_w_per_s,
        assume_lag_min_s=args.assume_lag_min,
        assume_lag_max_s=args.assume_lag_max,
    )
    names = list(CONTROLLERS) if args.compare else [args.controller]
    results: list[SimResult] = []
    for name in names:
        log = _open_log(args.log, name, len(names)) if args.log is not None else None
        bar = _progress(args, scenario.seconds, name)
        try:
            run_in = scenario_for(name, scenario)
            result = run_closed_loop(
                run_in,
                build_regulator(name, run_in, regulation),
                controller=name,
                event_sink=log.append_many if log is not None else None,
                progress=bar.update if bar is not None else None,
            )
        finally:
            if bar is not None:
                bar.close()
            if log is not None:
                log.close()
        results.append(result)
    if args.timeseries is not None:
        from controller.simulation.timeseries import write_csv

        for result in results:
            write_csv(result.series, _per_controller(args.timeseries, result.controller, len(results)))
    if args.plot is not None:
        from controller.simulation.plot import plot_series

        for result in results:
            title = f"{scenario.household.name}: {result.controller}, lag {scenario.meter.lag_s:g} s"
            plot_series(
                result.series, _per_controller(args.plot, result.controller, len(results)), title=title
            )
    if args.json:
        print(json.dumps(_json(args, scenario, regulation, results), indent=2))
    else:
        plan = f"schedule {args.schedule}" if args.schedule is not None else scenario.mode.value
        print(
            f"{scenario.household.name}: {scenario.seconds / 3600:.2f} h, {plan}, "
            f"lag {_lag_text(scenario)}, controller told {regulation.lag_s}, "
            f"battery {scenario.plant_params.max_discharge_w:g}/{scenario.plant_params.max_charge_w:g} W"
            + (f" ({len(scenario.batteries)} batteries)" if scenario.batteries else "")
        )
        print(format_table([(r.controller, r.metrics) for r in results]))
        for r in results:
            for m in r.members:
                print(
                    f"  {r.controller} {m.name}: SoC {m.final_soc_pct:.1f} %, "
                    f"relay switches {m.relay_switches}, "
                    f"discharged {m.discharged_wh / 1000:.2f} kWh, charged {m.charged_wh / 1000:.2f} kWh"
                )
        for r in results:
            print(
                f"{r.controller}: {r.sim_speed:,.0f} simulated s per wall s",
                file=sys.stderr,
            )
    return 0


def _lag_text(scenario: Any) -> str:
    meter = scenario.meter
    if meter.lag_mode == "drift":
        return f"{meter.lag_min_s:g}-{meter.lag_max_s:g} s drifting"
    return f"{meter.lag_s:g} s {meter.lag_mode}"


def _per_controller(path: Path, name: str, count: int) -> Path:
    if count == 1:
        return path
    return path.with_name(f"{path.stem}-{name}{path.suffix}")


def _open_log(path: Path, name: str, count: int) -> Any:
    from storage.event_log import EventLog

    target = _per_controller(path, name, count)
    if target.exists():
        target.unlink()
    return EventLog.open_sqlite(target, site_id="simulation")


def _progress(args: argparse.Namespace, seconds: int, name: str) -> Any:
    if args.no_progress or seconds < 4 * 3600:
        return None
    from tqdm import tqdm

    return tqdm(
        total=seconds, desc=f"simulate {name}", unit="s", unit_scale=True, file=sys.stderr, leave=False
    )


def _json(args: argparse.Namespace, scenario: Any, regulation: Any, results: list[Any]) -> dict[str, Any]:
    info = {
        "household": scenario.household.name,
        "seconds": scenario.seconds,
        "mode": scenario.mode.value,
        "lag_s": scenario.meter.lag_s,
        "lag_mode": scenario.meter.lag_mode,
        "assumed_lag": regulation.lag_s,
        "battery_max_discharge_w": scenario.plant_params.max_discharge_w,
        "battery_max_charge_w": scenario.plant_params.max_charge_w,
        "battery_capacity_wh": scenario.plant_params.capacity_wh,
        "battery_count": max(1, len(scenario.batteries)),
        "seed": args.seed,
    }
    per = {
        r.controller: {
            **r.metrics.model_dump(),
            "sim_speed_s_per_s": round(r.sim_speed, 1),
            "events_logged": r.events_logged,
            "lag_estimate_s": r.lag_estimates[-1][1] if r.lag_estimates else None,
            "lag_confidence": r.lag_estimates[-1][2] if r.lag_estimates else None,
            "batteries": [dataclasses.asdict(m) for m in r.members],
        }
        for r in results
    }
    return {"scenario": info, "results": per}
