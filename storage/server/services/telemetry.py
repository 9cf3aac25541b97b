"""Telemetry for charts: grid, battery, SoC and set-point, min/max/mean per bucket over a time range.

Reads the raw samples for short ranges and the coarsest rollup (10 s, 1 min, 1 h) that is still finer
than a bucket for long ones, so the cost depends on the number of points asked for, not on the range.
The set-point is a step function: a bucket without a command carries the previous bucket's value.
``setpoint_steps`` is the command in force itself: the value at ``start`` and every change after it
(at most :data:`MAX_STEPS`; beyond that, the command in force at the end of each bucket).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, literal, select

from storage.schema import from_micros, to_micros
from storage.server.services.ingest import ROLLUP_LEVELS_S
from storage.server.services.sites import SiteRef
from storage.server.tables import ROLLUPS, SAMPLES, SITE_EVENTS

__all__ = ["MAX_STEPS", "SERIES_NAMES", "Steps", "Telemetry", "query_telemetry", "setpoint_steps"]

SERIES_NAMES = ("grid_w", "battery_w", "soc_pct", "setpoint_w")
_ROLLUP_PREFIX = {"grid_w": "grid", "battery_w": "battery", "soc_pct": "soc", "setpoint_w": "setpoint"}
SETPOINT_LOOKBACK = timedelta(days=2)
SLOT_LOOKBACK = timedelta(days=7)
MAX_STEPS = 2000


@dataclass(frozen=True, slots=True)
class Steps:
    """A step function: ``w[i]`` is in force from ``t[i]`` until ``t[i + 1]`` (or the range's end)."""

    t: list[datetime]
    w: list[float]


@dataclass(frozen=True, slots=True)
class Telemetry:
    """Bucketed series: ``t`` holds bucket starts; each series has ``min``, ``max``, ``mean`` lists."""

    start: datetime
    end: datetime
    bucket_s: float
    source: str
    t: list[datetime]
    series: dict[str, dict[str, list[float | None]]]
    slots: list[dict[str, Any]]
    steps: Steps


def _raw_query(site: SiteRef, start_us: int, end_us: int, width_us: int) -> Any:
    bucket = ((SAMPLES.c.at - literal(start_us)) // literal(width_us)).label("b")
    columns: list[Any] = [bucket]
    for name in SERIES_NAMES:
        column = SAMPLES.c[name]
        columns += [func.min(column), func.max(column), func.avg(column)]
    return (
        select(*columns)
        .where(SAMPLES.c.site_id == site.id, SAMPLES.c.at >= start_us, SAMPLES.c.at < end_us)
        .group_by(bucket)
        .order_by(bucket)
    )


def _rollup_query(site: SiteRef, level_s: int, start_us: int, end_us: int, width_us: int) -> Any:
    bucket = ((ROLLUPS.c.start - literal(start_us)) // literal(width_us)).label("b")
    columns: list[Any] = [bucket]
    for name in SERIES_NAMES:
        prefix = _ROLLUP_PREFIX[name]
        total_n = func.sum(ROLLUPS.c[f"{prefix}_n"])
        columns += [
            func.min(ROLLUPS.c[f"{prefix}_min"]),
            func.max(ROLLUPS.c[f"{prefix}_max"]),
            func.sum(ROLLUPS.c[f"{prefix}_sum"]) / func.nullif(total_n, 0),
        ]
    return (
        select(*columns)
        .where(
            ROLLUPS.c.site_id == site.id,
            ROLLUPS.c.level_s == level_s,
            ROLLUPS.c.start >= start_us,
            ROLLUPS.c.start < end_us,
        )
        .group_by(bucket)
        .order_by(bucket)
    )


def _last_setpoint(engine: Engine, site: SiteRef, start_us: int) -> float | None:
    floor = start_us - int(SETPOINT_LOOKBACK.total_seconds() * 1_000_000)
    statement = (
        select(SAMPLES.c.setpoint_w)
        .where(
            SAMPLES.c.site_id == site.id,
            SAMPLES.c.at < start_us,
            SAMPLES.c.at >= floor,
            SAMPLES.c.setpoint_w.is_not(None),
        )
        .order_by(SAMPLES.c.at.desc())
        .limit(1)
    )
    with engine.connect() as connection:
        value = connection.execute(statement).scalar()
    return None if value is None else float(value)


def _slots(engine: Engine, site: SiteRef, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Intervals of the schedule slots in force, from the site's ``slot_changed`` events (up to ``end``)."""
    base = select(SITE_EVENTS.c.at, SITE_EVENTS.c.payload).where(
        SITE_EVENTS.c.site_id == site.id, SITE_EVENTS.c.kind == "slot_changed"
    )
    with engine.connect() as connection:
        before = connection.execute(
            base.where(SITE_EVENTS.c.at < start, SITE_EVENTS.c.at >= start - SLOT_LOOKBACK)
            .order_by(SITE_EVENTS.c.at.desc())
            .limit(1)
        ).all()
        inside = connection.execute(
            base.where(SITE_EVENTS.c.at >= start, SITE_EVENTS.c.at < end)
            .order_by(SITE_EVENTS.c.at)
            .limit(5000)
        ).all()
    changes = [(max(at, start), json.loads(payload)) for at, payload in [*before, *inside]]
    slots: list[dict[str, Any]] = []
    for i, (at, payload) in enumerate(changes):
        until = changes[i + 1][0] if i + 1 < len(changes) else end
        if until > at:
            slots.append({"start": at, "end": until, "mode": str(payload.get("mode", "?"))})
    return slots


def query_telemetry(
    engine: Engine, site: SiteRef, start: datetime, end: datetime, points: int, now: datetime | None = None
) -> Telemetry:
    """``points`` buckets covering ``[start, end)`` for ``site``; slot spans stop at ``now`` if earlier."""
    start_us, end_us = to_micros(start), to_micros(end)
    width_us = max(1, -(-(end_us - start_us) // points))
    level = max((lv for lv in ROLLUP_LEVELS_S if lv * 1_000_000 <= width_us), default=None)
    if level is None:
        statement, source = _raw_query(site, start_us, end_us, width_us), "samples"
    else:
        statement = _rollup_query(site, level, start_us, end_us, width_us)
        source = f"rollup_{level}s"
    with engine.connect() as connection:
        rows = connection.execute(statement).all()
    series: dict[str, dict[str, list[float | None]]] = {
        name: {"min": [None] * points, "max": [None] * points, "mean": [None] * points}
        for name in SERIES_NAMES
    }
    for row in rows:
        index = int(row[0])
        if not 0 <= index < points:
            continue
        for i, name in enumerate(SERIES_NAMES):
            for j, stat in enumerate(("min", "max", "mean")):
                value = row[1 + 3 * i + j]
                series[name][stat][index] = None if value is None else float(value)
    last_index = max((int(row[0]) for row in rows), default=-1)
    _carry_setpoint(series["setpoint_w"], _last_setpoint(engine, site, start_us), last_index)
    t = [from_micros(start_us + i * width_us) for i in range(points)]
    slots_end = end if now is None else max(start, min(end, now))
    steps = setpoint_steps(engine, site, start_us, end_us, width_us)
    slots = _slots(engine, site, start, slots_end)
    return Telemetry(start, end, width_us / 1e6, source, t, series, slots, steps)


def setpoint_steps(engine: Engine, site: SiteRef, start_us: int, end_us: int, width_us: int) -> Steps:
    """The command in force over ``[start_us, end_us)``: its value at the start and each change.

    Streams the commands once; when they change more than :data:`MAX_STEPS` times, keeps the command in
    force at the end of each ``width_us`` bucket instead (never a mean: a mean was never commanded).
    """
    changes: list[tuple[int, float]] = []
    last = _last_setpoint(engine, site, start_us)
    if last is not None:
        changes.append((start_us, last))
    statement = (
        select(SAMPLES.c.at, SAMPLES.c.setpoint_w)
        .where(
            SAMPLES.c.site_id == site.id,
            SAMPLES.c.at >= start_us,
            SAMPLES.c.at < end_us,
            SAMPLES.c.setpoint_w.is_not(None),
        )
        .order_by(SAMPLES.c.at)
    )
    with engine.connect() as connection:
        for at, value in connection.execution_options(yield_per=5000).execute(statement):
            if not changes or changes[-1][1] != value:
                changes.append((int(at), float(value)))
    if len(changes) > MAX_STEPS:
        changes = _in_force_per_bucket(changes, start_us, width_us)
    return Steps([from_micros(at) for at, _ in changes], [w for _, w in changes])


def _in_force_per_bucket(
    changes: list[tuple[int, float]], start_us: int, width_us: int
) -> list[tuple[int, float]]:
    """Each bucket's last command, drawn from the bucket's end (plus the value in force at the start)."""
    steps: list[tuple[int, float]] = [changes[0]] if changes[0][0] == start_us else []
    last_of: dict[int, float] = {}
    for at, value in changes:
        last_of[(at - start_us) // width_us] = value
    for bucket, value in sorted(last_of.items()):
        if not steps or steps[-1][1] != value:
            steps.append((start_us + (bucket + 1) * width_us, value))
    return steps


def _carry_setpoint(setpoint: dict[str, list[float | None]], last: float | None, until: int) -> None:
    for i, mean in enumerate(setpoint["mean"][: until + 1]):
        if mean is None:
            if last is not None:
                setpoint["min"][i] = setpoint["max"][i] = setpoint["mean"][i] = last
        else:
            last = mean
