"""The robustness matrix of the NetZero regulation (``bench_regulation.py --robustness``).

One row per (trace, case): zsm's residual (avoidable grid energy, Wh), its ratio to the lagged oracle at
the true lag (the information limit: battery output = true net load ``lag`` s earlier, clipped to the
power limits, no dead time, ramp or start threshold), the plant floor (the same knowledge behind the case's
real battery, ``lagged-oracle-plant``, over the lagged oracle: what following the meter cannot beat with
this battery's dead time, ramp and start threshold), the budget floor (that oracle again, writing only as
zsm may: its dead-band and write budget, ``lagged-oracle-budget``) and the ratio to naive (meter +
battery read every second), writes/h, acMode switches/day, and the settled swing on a step trace
(peak-to-peak battery power in the second half of each constant segment, same case). ``target_misses``
lists every missed target.

Traces: rae (NetZero), cyprus ×0.45 (NetZero+), the synthetic household (NetZero and NetZero+) and the
step trace. The battery has 50 kWh so that SoC never binds.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from controller.domain.regulation import RegulationMode
from controller.settings import LimitSettings
from controller.simulation.closed_loop import (
    ControllerName,
    Scenario,
    build_regulator,
    regulation_for,
    run_closed_loop,
    scenario_for,
)
from controller.simulation.plant import (
    BatteryParams,
    Household,
    MeterParams,
    load_trace,
    synthetic_household,
)

TRACES = Path(__file__).resolve().parents[1] / "controller" / "simulation" / "traces"
STEP_LEVELS = (300.0, 700.0, 200.0, 600.0, 100.0, 500.0, 300.0)
STEP_SEGMENT_S = 240


@dataclass(frozen=True)
class Case:
    """What the plant really does and what the regulator is told."""

    name: str
    meter: dict[str, Any] = field(default_factory=dict)
    told_lag: float | str = 20.0
    battery_w: int = 800
    dead_time_s: float = 2.0
    ramp_w_per_s: float = 400.0
    told_dead_time_s: float | None = None
    told_ramp_w_per_s: float | None = None


CASES: tuple[Case, ...] = (
    Case("nominal lag 20 told 20"),
    *(Case(f"lag {lag} told 20", {"lag_s": float(lag)}) for lag in (10, 14, 26, 30)),
    *(Case(f"lag {lag} auto", {"lag_s": float(lag)}, "auto") for lag in (5, 10, 20, 35)),
    Case("auto, 10 s telegrams", {"period_s": 10.0}, "auto"),
    Case("auto, jitter ±5 s", {"lag_mode": "jitter", "jitter_s": 5.0}, "auto"),
    Case("auto, jitter ±10 s", {"lag_mode": "jitter", "jitter_s": 10.0}, "auto"),
    Case("auto, drift 12-28 s", {"lag_mode": "drift", "lag_min_s": 12.0, "lag_max_s": 28.0}, "auto"),
    *(Case(f"dead time {d:g} s told 2", dead_time_s=d, told_dead_time_s=2.0) for d in (1.0, 6.0, 10.0)),
    Case("ramp 100 W/s told 400", ramp_w_per_s=100.0, told_ramp_w_per_s=400.0),
    Case("2400 W battery", battery_w=2400),
)


def _step_household() -> Household:
    load = tuple(level for level in STEP_LEVELS for _ in range(STEP_SEGMENT_S))
    return Household(load, tuple(0.0 for _ in load), name="steps")


def households(hours: float | None) -> dict[str, tuple[Household, RegulationMode]]:
    """The traces of the matrix (the shipped ones only if present), cut to ``hours``."""
    seconds = int(hours * 3600) if hours else 6 * 3600
    out: dict[str, tuple[Household, RegulationMode]] = {}
    rae, cyprus = TRACES / "rae_household.csv", TRACES / "cyprus_netload.csv"
    if rae.is_file():
        out["rae"] = (load_trace(rae), RegulationMode.NETZERO)
    if cyprus.is_file():
        out["cyprus"] = (load_trace(cyprus, scale=0.45), RegulationMode.NETZERO_PLUS)
    synthetic = synthetic_household(seed=1, duration_s=seconds, start_hour=8.0)
    out["synthetic"] = (synthetic, RegulationMode.NETZERO)
    out["synthetic+"] = (synthetic, RegulationMode.NETZERO_PLUS)
    return out


def _meter(case: Case) -> MeterParams:
    params: dict[str, Any] = {"lag_s": 20.0, **case.meter}
    if params.get("lag_mode") == "drift":
        params["lag_s"] = (params["lag_min_s"] + params["lag_max_s"]) / 2
    return MeterParams(**params)


def _scenario(case: Case, house: Household, mode: RegulationMode, hours: float | None) -> Scenario:
    charge = max(case.battery_w, 1000)
    return Scenario(
        household=house,
        battery=BatteryParams(
            max_discharge_w=case.battery_w,
            max_charge_w=charge,
            capacity_wh=50000.0,
            dead_time_s=case.dead_time_s,
            ramp_w_per_s=case.ramp_w_per_s,
        ),
        meter=_meter(case),
        mode=mode,
        limits=LimitSettings(max_discharge_w=case.battery_w, max_charge_w=charge),
        duration_s=int(hours * 3600) if hours and house.name != "steps" else None,
        battery_read_interval_s=1,
    )


def run_one(job: tuple[str, Case, ControllerName, float | None]) -> dict[str, Any]:
    """One closed-loop run of the matrix."""
    trace, case, controller, hours = job
    if trace == "steps":
        house, mode = _step_household(), RegulationMode.NETZERO
    else:
        house, mode = households(hours)[trace]
    scenario = scenario_for(controller, _scenario(case, house, mode, hours))
    regulation = regulation_for(
        scenario,
        assume_lag=case.told_lag,
        assume_dead_time_s=case.told_dead_time_s,
        assume_ramp_w_per_s=case.told_ramp_w_per_s,
    )
    regulator = build_regulator(controller, scenario, regulation)
    result = run_closed_loop(scenario, regulator, controller=controller)
    swing = None
    if trace == "steps":
        battery = result.series.battery_w
        swing = max(
            max(seg) - min(seg)
            for i in range(len(STEP_LEVELS))
            if (seg := battery[i * STEP_SEGMENT_S + STEP_SEGMENT_S // 2 : (i + 1) * STEP_SEGMENT_S])
        )
    m = result.metrics
    return {
        "trace": trace,
        "case": case.name,
        "controller": controller,
        "residual_wh": m.avoidable_wh,
        "writes_per_h": m.writes_per_h,
        "ac_mode_switches_per_day": m.ac_mode_switches_per_day,
        "swing_w": swing,
        "wall_s": round(result.wall_s, 2),
    }


def robustness(hours: float | None, jobs: int) -> list[dict[str, Any]]:
    """The whole matrix: one row per (trace, case)."""
    traces = list(households(hours))
    work: list[tuple[str, Case, ControllerName, float | None]] = []
    controllers: tuple[ControllerName, ...] = (
        "zsm",
        "lagged-oracle",
        "lagged-oracle-plant",
        "lagged-oracle-budget",
        "naive",
    )
    for case in CASES:
        for trace in traces:
            for controller in controllers:
                work.append((trace, case, controller, hours))
        work.append(("steps", case, "zsm", hours))
    if jobs > 1:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork")) as pool:
            runs = list(pool.map(run_one, work))
    else:
        runs = [run_one(job) for job in work]
    by = {(r["trace"], r["case"], r["controller"]): r for r in runs}
    rows: list[dict[str, Any]] = []
    for case in CASES:
        swing = by[("steps", case.name, "zsm")]["swing_w"]
        for trace in traces:
            zsm = by[(trace, case.name, "zsm")]
            oracle = by[(trace, case.name, "lagged-oracle")]["residual_wh"]
            floor = by[(trace, case.name, "lagged-oracle-plant")]["residual_wh"]
            budget = by[(trace, case.name, "lagged-oracle-budget")]["residual_wh"]
            naive = by[(trace, case.name, "naive")]["residual_wh"]
            rows.append(
                {
                    "trace": trace,
                    "case": case.name,
                    "residual_wh": zsm["residual_wh"],
                    "vs_lagged_oracle": round(zsm["residual_wh"] / max(oracle, 1e-9), 2),
                    "vs_naive": round(zsm["residual_wh"] / max(naive, 1e-9), 2),
                    "plant_floor": round(floor / max(oracle, 1e-9), 2),
                    "budget_floor": round(budget / max(oracle, 1e-9), 2),
                    "writes_per_h": zsm["writes_per_h"],
                    "ac_mode_switches_per_day": zsm["ac_mode_switches_per_day"],
                    "step_swing_w": swing,
                    "lagged_oracle_wh": oracle,
                    "lagged_oracle_plant_wh": floor,
                    "lagged_oracle_budget_wh": budget,
                    "naive_wh": naive,
                }
            )
    return rows


def format_rows(rows: list[dict[str, Any]]) -> str:
    """The matrix as a Markdown table."""
    lines = [
        "| trace | case | residual Wh | × lagged oracle | plant floor × | budget floor × | × naive "
        "| writes/h | acMode sw./day | step swing W |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['trace']} | {r['case']} | {r['residual_wh']:.1f} | {r['vs_lagged_oracle']:.2f} | "
            f"{r['plant_floor']:.2f} | {r['budget_floor']:.2f} | {r['vs_naive']:.2f} | "
            f"{r['writes_per_h']:.0f} | "
            f"{r['ac_mode_switches_per_day']:.0f} | "
            f"{r['step_swing_w']:.0f} |"
        )
    return "\n".join(lines)


NOMINAL_TARGET = 1.10
MISMATCH_TARGET = 1.5
SWING_TARGET_W = 100.0
WRITES_TARGET_PER_H = 360.0


def target_misses(rows: list[dict[str, Any]]) -> list[str]:
    """Every row that misses a target of the issue, with the figure measured (empty: all met)."""
    misses: list[str] = []
    for r in rows:
        where = f"{r['trace']} / {r['case']}"
        limit = NOMINAL_TARGET if r["case"].startswith("nominal") else MISMATCH_TARGET
        if r["vs_lagged_oracle"] > limit:
            misses.append(
                f"{where}: {r['vs_lagged_oracle']:.2f} x lagged oracle > {limit:.2f} "
                f"(plant floor {r['plant_floor']:.2f}, budget floor {r['budget_floor']:.2f})"
            )
        if r["vs_naive"] > 1.0:
            misses.append(f"{where}: worse than naive ({r['vs_naive']:.2f})")
        if (r["step_swing_w"] or 0.0) > SWING_TARGET_W:
            misses.append(f"{where}: settled swing {r['step_swing_w']:.0f} W > {SWING_TARGET_W:.0f}")
        if r["writes_per_h"] > WRITES_TARGET_PER_H:
            misses.append(f"{where}: {r['writes_per_h']:.0f} writes/h > {WRITES_TARGET_PER_H:.0f}")
        if r["ac_mode_switches_per_day"] > 0:
            misses.append(f"{where}: {r['ac_mode_switches_per_day']:.0f} acMode switches/day")
    return misses
