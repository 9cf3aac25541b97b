"""Recorded net load for planning and backtests: from an event log or from a trace CSV.

A trace CSV (the shipped ``controller/simulation/traces``) has ``t_s`` and either ``watts`` (house load) or
``load_w`` and ``pv_w``; it is laid end to end from ``start`` until ``end`` (a 6-h trace repeats four times
in a day). An event log gives ``grid + battery`` per meter reading (see :mod:`.forecast`).
"""

from __future__ import annotations

import csv
from datetime import datetime, timedelta
from pathlib import Path

from controller.planning.forecast import LoadSample, samples_from_events

__all__ = ["MAX_TRACE_ROWS", "TraceError", "load_samples", "read_trace", "tile_trace"]

MAX_TRACE_ROWS = 2_000_000


class TraceError(ValueError):
    """A trace file cannot be read."""


def read_trace(path: Path, pv_scale: float = 1.0) -> list[tuple[float, float]]:
    """``(t_s, net_load_w)`` rows of a trace CSV (``#`` lines are comments)."""
    rows: list[tuple[float, float]] = []
    with path.open(newline="") as handle:
        lines = (line for line in handle if not line.startswith("#") and line.strip())
        reader = csv.DictReader(lines)
        fields = set(reader.fieldnames or ())
        if "t_s" not in fields or not ({"watts"} <= fields or {"load_w", "pv_w"} <= fields):
            raise TraceError(f"{path}: needs t_s and watts, or t_s, load_w and pv_w")
        for line, record in enumerate(reader, start=2):
            if len(rows) >= MAX_TRACE_ROWS:
                raise TraceError(f"{path}: more than {MAX_TRACE_ROWS} rows")
            try:
                load = (
                    float(record["watts"])
                    if "watts" in fields
                    else (float(record["load_w"]) - pv_scale * float(record["pv_w"]))
                )
                rows.append((float(record["t_s"]), load))
            except (TypeError, ValueError) as err:
                raise TraceError(f"{path}: row {line}: {err}") from err
    if len(rows) < 2:
        raise TraceError(f"{path}: fewer than two rows")
    return rows


def tile_trace(rows: list[tuple[float, float]], start: datetime, end: datetime) -> list[LoadSample]:
    """The trace laid end to end from ``start`` until ``end``."""
    first = rows[0][0]
    period = rows[-1][0] - first + (rows[-1][0] - rows[-2][0])
    samples = []
    offset = 0.0
    total = (end - start).total_seconds()
    while offset < total:
        for t_s, load in rows:
            at_s = offset + t_s - first
            if at_s >= total:
                break
            samples.append(LoadSample(at=start + timedelta(seconds=at_s), net_load_w=load))
        offset += period
    return samples


def load_samples(path: Path, start: datetime, end: datetime, site_id: str = "home") -> list[LoadSample]:
    """Net-load samples of ``[start, end)`` from an event log (SQLite file)."""
    from controller.logtools.common import open_log

    log = open_log(path, site_id)
    try:
        stored = log.iter_range(start, end, kinds=("meter_reading", "battery_reading"))
        return samples_from_events(item.event for item in stored)
    finally:
        log.close()
