"""The battery's dead time from what it reports after each write (used online and by ``zsm lag``).

For each command that asks a change of at least :data:`MIN_STEP_W`, the battery readings that follow are
searched for the first one that moved a quarter of the way (at least :data:`MOVED_W`) toward the new
set-point, provided no other command came in the :data:`QUIET_S` before it (an earlier write still in
flight would move the battery first and look like a short dead time). The write acted between the last
reading that had not moved and that one; the middle of that interval (never before the write), less the
time the modelled ramp needs for that quarter, is the observation, and half its width its resolution
(reads every 5 s give ±2.5 s). A step interrupted by the next command before a reading moved is not
counted.

The estimate is the median of the observations (the newest ``window`` of them); its confidence is the share
of observations within ``max(2 s, resolution)`` of it, scaled down below :data:`FULL_CONFIDENCE_STEPS`
observations. Pure: time is seconds on any fixed epoch, given by the caller.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from statistics import median

__all__ = ["FULL_CONFIDENCE_STEPS", "MIN_STEP_W", "DeadTimeEstimate", "DeadTimeTracker"]

MIN_STEP_W = 100.0
MOVED_W = 25.0
QUIET_S = 12.0
FULL_CONFIDENCE_STEPS = 10


@dataclass(frozen=True, slots=True)
class DeadTimeEstimate:
    """Seconds from a write to the battery's first move, with confidence 0..1, resolution and evidence."""

    dead_time_s: float
    confidence: float
    resolution_s: float
    steps: int


@dataclass(slots=True)
class _Awaited:
    """A command whose effect is still awaited."""

    at: float
    before_w: float
    target_w: float
    unmoved_at: float

    def needed_w(self) -> float:
        return max(MOVED_W, abs(self.target_w - self.before_w) / 4)

    def moved(self, battery_w: float) -> bool:
        direction = 1.0 if self.target_w > self.before_w else -1.0
        return (battery_w - self.before_w) * direction >= self.needed_w()


class DeadTimeTracker:
    """Observes commands and battery readings; estimates the dead time from the newest ``window`` steps.

    ``ramp_w_per_s`` (the modelled ramp) is taken off each observation: the quarter-way move a reading
    detects comes that long after the battery started. ``math.inf`` (the default) takes nothing off.
    """

    def __init__(self, *, window: int | None = None, ramp_w_per_s: float = math.inf) -> None:
        self.ramp_w_per_s = ramp_w_per_s
        self._observations: deque[tuple[float, float]] = deque(maxlen=window)  # (dead time, half-width)
        self._battery_w: float | None = None
        self._awaited: _Awaited | None = None
        self._last_command_t = -math.inf

    def command(self, t: float, target_w: float) -> None:
        """A set-point was issued at ``t``."""
        self._awaited = None
        quiet = t - self._last_command_t >= QUIET_S
        self._last_command_t = t
        if quiet and self._battery_w is not None and abs(target_w - self._battery_w) >= MIN_STEP_W:
            self._awaited = _Awaited(t, self._battery_w, target_w, t)

    def reading(self, t: float, battery_w: float) -> bool:
        """A battery reading at ``t``; True when it completed an observation."""
        self._battery_w = battery_w
        awaited = self._awaited
        if awaited is None:
            return False
        if not awaited.moved(battery_w):
            awaited.unmoved_at = t
            return False
        low, high = awaited.unmoved_at - awaited.at, t - awaited.at
        ramp_s = awaited.needed_w() / self.ramp_w_per_s
        self._observations.append((max(0.0, (low + high) / 2 - ramp_s), (high - low) / 2))
        self._awaited = None
        return True

    def estimate(self) -> DeadTimeEstimate | None:
        """The median observation with its confidence, or None before any."""
        observations = self._observations
        if not observations:
            return None
        middle = median(value for value, _ in observations)
        resolution = median(width for _, width in observations)
        tolerance = max(2.0, resolution)
        agreeing = sum(abs(value - middle) <= tolerance for value, _ in observations)
        steps = len(observations)
        confidence = agreeing / steps * min(1.0, steps / FULL_CONFIDENCE_STEPS)
        return DeadTimeEstimate(
            dead_time_s=middle, confidence=confidence, resolution_s=resolution, steps=steps
        )
