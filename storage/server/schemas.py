"""Pydantic models of the API's reply bodies (the daemon's payloads are in :mod:`controller.wire`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = [
    "AuditEventOut",
    "AuditOut",
    "ErrorItem",
    "ErrorOut",
    "ScheduleVersionOut",
    "ScheduleVersionsOut",
    "SeriesOut",
    "SlotSpanOut",
    "TelemetryOut",
]


class ErrorItem(BaseModel):
    """One validation problem: where (slot and field) and what."""

    loc: list[str | int]
    slot: str | None = Field(description="The slot, e.g. 'recurring[3]', or null for schedule-wide problems")
    field: str | None = Field(description="The field within the slot (or schedule), e.g. 'power_w'")
    msg: str


class ErrorOut(BaseModel):
    """Every error reply: a message, and for 422 the list of problems."""

    detail: str
    errors: list[ErrorItem] | None = None


class ScheduleVersionOut(BaseModel):
    """A stored schedule version (``schedule`` only when one version is asked for)."""

    version: int
    etag: str
    author: str | None
    created_at: datetime | None
    schedule: dict[str, Any] | None = None


class PickupOut(BaseModel):
    """When the site's daemon will see the current schedule (``timezone``: the zone to show times in)."""

    site: str
    version: int
    timezone: str
    last_fetch_at: datetime | None
    check_interval_s: float
    next_check_at: datetime | None
    has_current: bool = Field(description="The daemon's last fetch returned the current version")
    overdue: bool = Field(description="No fetch for more than two intervals")


class SpanOut(BaseModel):
    """A slot in force over [start, end); ``kind`` and ``index`` name it (the default has no index)."""

    start: datetime
    end: datetime
    kind: str
    index: int | None
    id: str | None
    mode: str
    power_w: int | None
    max_w: int | None
    target_offset_w: float | None
    plan: dict[str, Any] | None = Field(description="A planner's note: why, price, expected SoC")


class SpansOut(BaseModel):
    """The current schedule as spans over a range, with the version they come from."""

    site: str
    timezone: str
    version: int
    etag: str
    spans: list[SpanOut]


class PriceIntervalOut(BaseModel):
    """One price interval (EUR/kWh, tariff included)."""

    start: datetime
    end: datetime
    import_eur_per_kwh: float
    export_eur_per_kwh: float | None


class PricesOut(BaseModel):
    """Prices over a range; ``intervals`` is empty until a price source delivered some."""

    site: str
    start: datetime
    end: datetime
    intervals: list[PriceIntervalOut]


class ScheduleVersionsOut(BaseModel):
    """Every stored version, newest first."""

    site: str
    versions: list[ScheduleVersionOut]


class SeriesOut(BaseModel):
    """min / max / mean per bucket (null where the bucket has no data)."""

    min: list[float | None]
    max: list[float | None]
    mean: list[float | None]


class SlotSpanOut(BaseModel):
    """A schedule slot that was in force over [start, end)."""

    start: datetime
    end: datetime
    mode: str


class StepsOut(BaseModel):
    """A step function: ``w[i]`` is in force from ``t[i]`` until ``t[i + 1]`` or the range's end."""

    t: list[datetime]
    w: list[float]


class TelemetryOut(BaseModel):
    """Bucketed telemetry: ``t`` are bucket starts."""

    site: str
    start: datetime
    end: datetime
    points: int
    bucket_s: float
    source: str = Field(description="samples, or the rollup level the buckets were built from")
    t: list[datetime]
    grid_w: SeriesOut
    battery_w: SeriesOut
    soc_pct: SeriesOut
    setpoint_w: SeriesOut
    setpoint_steps: StepsOut = Field(description="The command in force (+ discharge, - charge): each change")
    slots: list[SlotSpanOut]


class AuditEventOut(BaseModel):
    """An event as stored."""

    seq: int
    at: datetime
    kind: str
    payload: dict[str, Any]


class AuditOut(BaseModel):
    """The command in force at ``at`` and why."""

    site: str
    at: datetime
    command: dict[str, Any] | None
    in_force_until: datetime | None
    result: AuditEventOut | None
    events: list[AuditEventOut]
    explanation: str = Field(description="In words, the same as `zsm audit` gives on the daemon's log")
    details: dict[str, Any] | None = Field(
        default=None, description="The full audit as `zsm audit` builds it: chain of causes, since, inputs"
    )
