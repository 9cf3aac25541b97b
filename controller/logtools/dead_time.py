"""The battery's dead time from a log: how long after a write its reported output starts to move.

For each command that asks a change of at least :data:`MIN_STEP_W`, the battery readings that follow are
searched for the first one that moved a quarter of the way (at least :data:`MOVED_W`) toward the new
set-point. The write acted between the last reading that had not moved and that one; the middle of that
interval (never before the write) is the observation, and half its width its resolution (reads every 5 s
give ±2.5 s). A step interrupted by the next command before a reading moved is not counted.

The estimate is the median of the observations; its confidence is the share of observations within
``max(2 s, resolution)`` of it, scaled down below :data:`FULL_CONFIDENCE_STEPS` observations.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from statistics import median

from pydantic import BaseModel, ConfigDict

from controller.domain.events import BatteryReading, CommandIssued, EventBase

__all__ = ["DeadTimeReport", "estimate_dead_time", "format_dead_time"]

MIN_STEP_W = 100.0
MOVED_W = 25.0
FULL_CONFIDENCE_STEPS = 10


class DeadTimeReport(BaseModel):
    """The battery dead time seen in a log, with its evidence."""

    model_config = ConfigDict(frozen=True)

    dead_time_s: float | None
    confidence: float
    resolution_s: float | None
    steps: int


class _Open:
    """A command whose effect is still awaited."""

    def __init__(self, at: datetime, before_w: float, target_w: float) -> None:
        self.at = at
        self.before_w = before_w
        self.target_w = target_w
        self.unmoved_at = at

    def moved(self, battery_w: float) -> bool:
        step = self.target_w - self.before_w
        needed = max(MOVED_W, abs(step) / 4)
        return (battery_w - self.before_w) * (1 if step > 0 else -1) >= needed


def estimate_dead_time(events: Iterable[EventBase]) -> DeadTimeReport:
    """Estimate the battery's dead time from ``events`` (oldest first)."""
    observations: list[tuple[float, float]] = []  # (dead time, half-width)
    battery_w: float | None = None
    waiting: _Open | None = None
    for event in events:
        if isinstance(event, CommandIssued):
            target = float(event.command.battery_w)
            waiting = None
            if battery_w is not None and abs(target - battery_w) >= MIN_STEP_W:
                waiting = _Open(event.at, battery_w, target)
        elif isinstance(event, BatteryReading):
            battery_w = event.battery_w
            if waiting is None:
                continue
            if waiting.moved(event.battery_w):
                low = (waiting.unmoved_at - waiting.at).total_seconds()
                high = (event.at - waiting.at).total_seconds()
                observations.append(((low + high) / 2, (high - low) / 2))
                waiting = None
            else:
                waiting.unmoved_at = event.at
    if not observations:
        return DeadTimeReport(dead_time_s=None, confidence=0.0, resolution_s=None, steps=0)
    middle = median(value for value, _ in observations)
    resolution = median(width for _, width in observations)
    tolerance = max(2.0, resolution)
    agreeing = sum(abs(value - middle) <= tolerance for value, _ in observations)
    confidence = agreeing / len(observations) * min(1.0, len(observations) / FULL_CONFIDENCE_STEPS)
    return DeadTimeReport(
        dead_time_s=round(middle, 1),
        confidence=round(confidence, 3),
        resolution_s=round(resolution, 1),
        steps=len(observations),
    )


def format_dead_time(report: DeadTimeReport) -> str:
    """The dead-time report in plain words."""
    if report.dead_time_s is None:
        return "battery dead time: unknown (no write that moved the battery by 100 W or more)"
    return (
        f"battery dead time: {report.dead_time_s:.1f} s ± {report.resolution_s:.1f} s "
        f"(confidence {report.confidence:.2f}, from {report.steps} writes)"
    )
