"""The per-second time series of a simulation run, and its CSV form (the simulation contract).

Columns: ``t_s, load_w, pv_w, battery_w`` (AC, + = discharge), ``grid_w`` (true, + = import), ``meter_w``
(the newest meter value the controller had, empty before the first), ``setpoint_w`` (the last command sent),
``soc_pct``, ``state``, and for the metrics ``mode`` (the regulated mode in force, empty outside NetZero
windows) and ``max_discharge_w``/``max_charge_w`` (the effective limits at that second).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CSV_COLUMNS", "SimSeries", "read_csv", "write_csv"]

CSV_COLUMNS = (
    "t_s",
    "load_w",
    "pv_w",
    "battery_w",
    "grid_w",
    "meter_w",
    "setpoint_w",
    "soc_pct",
    "state",
    "mode",
    "max_discharge_w",
    "max_charge_w",
)


@dataclass
class SimSeries:
    """Column lists, one entry per simulated second; plus every command issued as ``(t_s, battery_w)``."""

    t_s: list[float] = field(default_factory=list)
    load_w: list[float] = field(default_factory=list)
    pv_w: list[float] = field(default_factory=list)
    battery_w: list[float] = field(default_factory=list)
    grid_w: list[float] = field(default_factory=list)
    meter_w: list[float | None] = field(default_factory=list)
    setpoint_w: list[float] = field(default_factory=list)
    soc_pct: list[float] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    mode: list[str] = field(default_factory=list)
    max_discharge_w: list[float] = field(default_factory=list)
    max_charge_w: list[float] = field(default_factory=list)
    commands: list[tuple[float, float]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.t_s)

    def after(self, start_s: float) -> SimSeries:
        """The part from ``start_s`` on (e.g. to score after a learning period)."""
        i = next((k for k, t in enumerate(self.t_s) if t >= start_s), len(self.t_s))
        cut = SimSeries(**{name: getattr(self, name)[i:] for name in CSV_COLUMNS})
        cut.commands = [(t, w) for t, w in self.commands if t >= start_s]
        return cut


def _fmt(value: float | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def write_csv(series: SimSeries, path: Path | str) -> None:
    """Write the series as CSV with the contract's columns."""
    columns = [getattr(series, name) for name in CSV_COLUMNS]
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in zip(*columns, strict=True):
            writer.writerow([_fmt(v) for v in row])


def read_csv(path: Path | str) -> SimSeries:
    """Read a series written by :func:`write_csv` (commands are not part of the CSV)."""
    series = SimSeries()
    with Path(path).open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            series.t_s.append(float(row["t_s"]))
            series.load_w.append(float(row["load_w"]))
            series.pv_w.append(float(row["pv_w"]))
            series.battery_w.append(float(row["battery_w"]))
            series.grid_w.append(float(row["grid_w"]))
            series.meter_w.append(float(row["meter_w"]) if row["meter_w"] else None)
            series.setpoint_w.append(float(row["setpoint_w"]))
            series.soc_pct.append(float(row["soc_pct"]))
            series.state.append(row["state"])
            series.mode.append(row["mode"])
            series.max_discharge_w.append(float(row["max_discharge_w"]))
            series.max_charge_w.append(float(row["max_charge_w"]))
    return series
