"""Tune: rebuild the household from a log and search regulator settings on it in closed-loop simulation.

Reconstruction: a meter value seen at ``t`` describes the grid at ``t − d`` (``d`` = the meter lag), when
the battery gave ``b(t − d)``; so the household's net load then was ``meter(t) + b(t − d)`` (the Smith
predictor's identity). ``b`` is the regulator's battery model fed with the logged commands and pinned by
the logged battery readings. The net load becomes a 1 s :class:`Household` (load = positive part, PV =
negative part) starting at ``first reading − d``.

Search: every combination of dead-band, write interval, target offset and lag from the grid (evenly
thinned to ``max_runs``, the current settings always included) runs the real core + regulator against the
plant (:func:`controller.simulation.closed_loop.run_closed_loop`) in the log's
regulated mode, with the meter lag the log shows. Runs are ranked by avoidable grid energy, then by
writes per hour; runs that write more than the device's budget (one write per 10 s on average) rank last.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from controller.domain.events import BatteryReading, CommandIssued, EventBase, MeterReading, StateChanged
from controller.domain.regulation import RegulationMode
from controller.domain.regulator import BatteryResponseModel, ZsmRegulator
from controller.settings import LimitSettings, RegulationSettings
from controller.simulation.closed_loop import Scenario, run_closed_loop
from controller.simulation.metrics import Metrics
from controller.simulation.plant import BatteryParams, Household, MeterParams

__all__ = [
    "DEVICE_WRITES_PER_H",
    "Reconstruction",
    "TuneGrid",
    "TuneReport",
    "TuneRun",
    "current_params",
    "format_tune",
    "parameter_sets",
    "reconstruct",
    "tune",
]

#: The device's write budget (protocols/zendure-zensdk.md: about one limit write per 10 s on average).
DEVICE_WRITES_PER_H: Final = 360.0
LagValue = float | Literal["auto"]
_REGULATED: Final = {"NetZero": RegulationMode.NETZERO, "NetZeroPlus": RegulationMode.NETZERO_PLUS}


@dataclass(frozen=True)
class Reconstruction:
    """The household rebuilt from a log."""

    household: Household
    start: datetime
    lag_s: float
    mode: RegulationMode
    initial_soc_pct: float
    readings: int
    regulated_s: dict[str, float]


def reconstruct(
    events: Iterable[EventBase],
    lag_s: float,
    regulation: RegulationSettings | None = None,
    *,
    max_seconds: int | None = None,
) -> Reconstruction:
    """Rebuild the household's net load (1 s) from the log's meter readings, commands and battery readings.

    ``max_seconds`` keeps only the last part of the log.
    """
    s = regulation or RegulationSettings()
    model = BatteryResponseModel(s.battery_dead_time_s, s.battery_ramp_w_per_s, s.start_threshold_w)
    epoch: datetime | None = None
    meter: list[tuple[float, float]] = []
    soc: float | None = None
    state: tuple[str, float] | None = None
    regulated: dict[str, float] = {}
    last_t = 0.0
    for event in events:
        if epoch is None:
            epoch = event.at
        t = (event.at - epoch).total_seconds()
        last_t = t
        if isinstance(event, MeterReading):
            meter.append((t, event.grid_w))
        elif isinstance(event, BatteryReading):
            model.measured(t, event.battery_w)
            if soc is None:
                soc = event.soc_pct
        elif isinstance(event, CommandIssued):
            model.command(t, float(event.command.battery_w))
        elif isinstance(event, StateChanged):
            if state is not None:
                regulated[state[0]] = regulated.get(state[0], 0.0) + t - state[1]
            state = (event.to_state, t)
    if state is not None:
        regulated[state[0]] = regulated.get(state[0], 0.0) + last_t - state[1]
    if epoch is None or len(meter) < 2:
        raise ValueError("the log holds too few meter readings to rebuild the household")
    # Net load at the moment each reading describes, held on a 1 s grid.
    described = [(t - lag_s, w + model.at(t - lag_s)) for t, w in meter]
    first = described[0][0]
    n = int(math.floor(described[-1][0] - first)) + 1
    skip = max(0, n - max_seconds) if max_seconds is not None else 0
    net: list[float] = []
    i = 0
    for k in range(skip, n):
        at = first + k
        while i + 1 < len(described) and described[i + 1][0] <= at + 1e-9:
            i += 1
        net.append(round(described[i][1], 1))
    household = Household(tuple(max(0.0, w) for w in net), tuple(max(0.0, -w) for w in net), name="from-log")
    by_mode = {name: regulated.get(name, 0.0) for name in _REGULATED}
    mode_name = max(by_mode, key=by_mode.__getitem__)
    mode = _REGULATED[mode_name] if by_mode[mode_name] > 0 else RegulationMode.NETZERO
    return Reconstruction(
        household=household,
        start=epoch + timedelta(seconds=first + skip),
        lag_s=lag_s,
        mode=mode,
        initial_soc_pct=soc if soc is not None else 50.0,
        readings=len(meter),
        regulated_s={name: round(value, 1) for name, value in regulated.items() if name in _REGULATED},
    )


# -- the search ----------------------------------------------------------------------------------------


class TuneGrid(BaseModel):
    """The values to try for each knob."""

    model_config = ConfigDict(frozen=True)

    deadband_w: tuple[float, ...] = (15.0, 25.0, 40.0)
    min_write_interval_s: tuple[float, ...] = (5.0, 10.0, 20.0)
    target_offset_w: tuple[float, ...] = (0.0, 15.0)
    lag_s: tuple[LagValue, ...] = ("auto",)


class TuneParams(BaseModel):
    """One parameter set."""

    model_config = ConfigDict(frozen=True)

    deadband_w: float
    min_write_interval_s: float
    target_offset_w: float
    lag_s: LagValue

    def label(self) -> str:
        lag = self.lag_s if self.lag_s == "auto" else f"{self.lag_s:g}"
        return (
            f"deadband {self.deadband_w:g} W, interval {self.min_write_interval_s:g} s, "
            f"offset {self.target_offset_w:g} W, lag {lag}"
        )


class TuneRun(BaseModel):
    """One simulated run and its figures."""

    model_config = ConfigDict(frozen=True)

    params: TuneParams
    current: bool
    metrics: Metrics
    over_budget: bool
    wall_s: float


class TuneReport(BaseModel):
    """The ranked runs (best first)."""

    model_config = ConfigDict(frozen=True)

    runs: list[TuneRun]
    combinations: int
    simulated_s: int
    start: datetime
    mode: str
    plant_lag_s: float
    initial_soc_pct: float


def current_params(regulation: RegulationSettings) -> TuneParams:
    return TuneParams(
        deadband_w=regulation.deadband_w,
        min_write_interval_s=regulation.min_write_interval_s,
        target_offset_w=regulation.target_offset_w,
        lag_s=regulation.lag_s,
    )


def parameter_sets(grid: TuneGrid, current: TuneParams, max_runs: int) -> list[TuneParams]:
    """The grid's combinations, thinned evenly to ``max_runs`` (the current settings always included)."""
    every = [
        TuneParams(deadband_w=d, min_write_interval_s=w, target_offset_w=o, lag_s=lag)
        for d, w, o, lag in itertools.product(
            grid.deadband_w, grid.min_write_interval_s, grid.target_offset_w, grid.lag_s
        )
    ]
    others = [p for p in every if p != current]
    room = max(0, max_runs - 1)
    if len(others) > room:
        others = [others[round(i * len(others) / room)] for i in range(room)] if room else []
    return [current, *others]


def _simulate(
    reconstruction: Reconstruction,
    params: TuneParams,
    base: RegulationSettings,
    limits: LimitSettings,
    battery_read_interval_s: int,
) -> tuple[Metrics, float]:
    regulation = base.model_copy(
        update={
            "deadband_w": params.deadband_w,
            "min_write_interval_s": params.min_write_interval_s,
            "target_offset_w": params.target_offset_w,
            "lag_s": params.lag_s,
        }
    )
    scenario = Scenario(
        household=reconstruction.household,
        battery=BatteryParams(
            max_discharge_w=float(limits.max_discharge_w),
            max_charge_w=float(limits.max_charge_w),
            initial_soc_pct=reconstruction.initial_soc_pct,
            dead_time_s=base.battery_dead_time_s,
            ramp_w_per_s=base.battery_ramp_w_per_s,
            start_threshold_w=base.start_threshold_w,
        ),
        meter=MeterParams(lag_s=reconstruction.lag_s),
        mode=reconstruction.mode,
        limits=limits,
        battery_read_interval_s=battery_read_interval_s,
        start=reconstruction.start,
        target_offset_w=params.target_offset_w,
    )
    result = run_closed_loop(scenario, ZsmRegulator(regulation.domain()), controller="zsm")
    return result.metrics, result.wall_s


def _rank_key(run: TuneRun) -> tuple[bool, float, float]:
    return (run.over_budget, run.metrics.avoidable_wh, run.metrics.writes_per_h)


def tune(
    reconstruction: Reconstruction,
    regulation: RegulationSettings,
    limits: LimitSettings,
    grid: TuneGrid,
    *,
    max_runs: int = 24,
    battery_read_interval_s: int = 5,
    jobs: int = 1,
    progress: Callable[[TuneRun], None] | None = None,
) -> TuneReport:
    """Simulate each parameter set over the reconstruction and rank the runs (best first)."""
    current = current_params(regulation)
    sets = parameter_sets(grid, current, max_runs)
    runs: list[TuneRun] = []

    def record(params: TuneParams, metrics: Metrics, wall: float) -> None:
        run = TuneRun(
            params=params,
            current=params == current,
            metrics=metrics,
            over_budget=metrics.writes_per_h > DEVICE_WRITES_PER_H,
            wall_s=round(wall, 3),
        )
        runs.append(run)
        if progress is not None:
            progress(run)

    if jobs <= 1:
        for params in sets:
            record(params, *_simulate(reconstruction, params, regulation, limits, battery_read_interval_s))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = {
                pool.submit(_simulate, reconstruction, p, regulation, limits, battery_read_interval_s): p
                for p in sets
            }
            for future in as_completed(futures):
                record(futures[future], *future.result())
    runs.sort(key=_rank_key)
    combos = (
        len(grid.deadband_w) * len(grid.min_write_interval_s) * len(grid.target_offset_w) * len(grid.lag_s)
    )
    return TuneReport(
        runs=runs,
        combinations=combos,
        simulated_s=reconstruction.household.duration_s,
        start=reconstruction.start,
        mode=reconstruction.mode.value,
        plant_lag_s=reconstruction.lag_s,
        initial_soc_pct=reconstruction.initial_soc_pct,
    )


_COLUMNS: Final[Sequence[tuple[str, str, str]]] = (
    ("avoidable_wh", "avoid Wh", "{:.1f}"),
    ("rms_grid_w", "RMS W", "{:.1f}"),
    ("band_crossings_per_h", "cross/h", "{:.1f}"),
    ("writes_per_h", "writes/h", "{:.0f}"),
    ("ac_mode_switches", "acMode", "{:d}"),
    ("cost_ct", "cost ct", "{:.1f}"),
)


def format_tune(report: TuneReport, top: int = 5) -> str:
    """The best ``top`` runs (and the current settings' rank) as a table."""
    hours = report.simulated_s / 3600
    lines = [
        f"simulated {hours:.2f} h of the household from {report.start:%Y-%m-%d %H:%M} UTC in {report.mode}, "
        f"meter lag {report.plant_lag_s:.1f} s, start SoC {report.initial_soc_pct:g} %; "
        f"{len(report.runs)} of {report.combinations} combinations run",
        "",
    ]
    header = ["rank", "dead-band", "interval", "offset", "lag", *[name for _, name, _ in _COLUMNS], ""]
    rows: list[list[str]] = []
    shown = [(i, run) for i, run in enumerate(report.runs, start=1) if i <= top or run.current]
    for rank, run in shown:
        p = run.params
        lag = p.lag_s if p.lag_s == "auto" else f"{p.lag_s:g} s"
        note = ", ".join(
            word for word, flag in (("current", run.current), ("over write budget", run.over_budget)) if flag
        )
        values = [getattr(run.metrics, key) for key, _, _ in _COLUMNS]
        rows.append(
            [
                str(rank),
                f"{p.deadband_w:g} W",
                f"{p.min_write_interval_s:g} s",
                f"{p.target_offset_w:g} W",
                lag,
                *[fmt.format(v) for (_, _, fmt), v in zip(_COLUMNS, values, strict=True)],
                note,
            ]
        )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip())
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    return "\n".join(lines)
