"""The battery's dead time and ramp from a log: how long after a write its output moves, and how fast.

The observations and the estimates are :class:`controller.domain.dead_time.DeadTimeTracker`'s (the same
rule the regulator uses online), over the whole log; no ramp time is taken off the dead time (what a log
shows).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from controller.domain.dead_time import MIN_STEP_W, DeadTimeTracker
from controller.domain.events import BatteryReading, CommandIssued, EventBase

__all__ = ["DeadTimeReport", "estimate_dead_time", "format_dead_time", "format_ramp"]


class DeadTimeReport(BaseModel):
    """The battery dead time seen in a log, with its evidence."""

    model_config = ConfigDict(frozen=True)

    dead_time_s: float | None
    confidence: float
    resolution_s: float | None
    steps: int
    ramp_w_per_s: float | None = None
    ramp_steps: int = 0
    ramp_at_least_w_per_s: float | None = None


def estimate_dead_time(events: Iterable[EventBase]) -> DeadTimeReport:
    """Estimate the battery's dead time from ``events`` (oldest first)."""
    tracker = DeadTimeTracker()
    epoch: datetime | None = None
    for event in events:
        if not isinstance(event, CommandIssued | BatteryReading):
            continue
        epoch = epoch or event.at
        t = (event.at - epoch).total_seconds()
        if isinstance(event, CommandIssued):
            tracker.command(t, float(event.command.battery_w))
        else:
            tracker.reading(t, event.battery_w)
    estimate = tracker.estimate()
    if estimate is None:
        return DeadTimeReport(dead_time_s=None, confidence=0.0, resolution_s=None, steps=0)
    return DeadTimeReport(
        dead_time_s=round(estimate.dead_time_s, 1),
        confidence=round(estimate.confidence, 3),
        resolution_s=round(estimate.resolution_s, 1),
        steps=estimate.steps,
        ramp_w_per_s=None if estimate.ramp_w_per_s is None else round(estimate.ramp_w_per_s),
        ramp_steps=estimate.ramp_steps,
        ramp_at_least_w_per_s=(
            None if estimate.ramp_at_least_w_per_s is None else round(estimate.ramp_at_least_w_per_s)
        ),
    )


def format_dead_time(report: DeadTimeReport) -> str:
    """The dead-time report in plain words."""
    if report.dead_time_s is None:
        return f"battery dead time: unknown (no write that moved the battery by {MIN_STEP_W:.0f} W or more)"
    return (
        f"battery dead time: {report.dead_time_s:.1f} s ± {report.resolution_s:.1f} s "
        f"(confidence {report.confidence:.2f}, from {report.steps} writes)"
    )


def format_ramp(report: DeadTimeReport) -> str:
    """The ramp part of the report in plain words."""
    if report.ramp_w_per_s is not None:
        return f"battery ramp: {report.ramp_w_per_s:.0f} W/s (median of {report.ramp_steps} timed steps)"
    if report.ramp_at_least_w_per_s is not None:
        return (
            f"battery ramp: at least {report.ramp_at_least_w_per_s:.0f} W/s (every step was over within one "
            "read interval; read the battery more often to time it)"
        )
    return "battery ramp: unknown (no step was followed to its end)"
