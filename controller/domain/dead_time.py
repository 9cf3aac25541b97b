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
observations.

The same steps time the ramp: from the quarter-way reading on, the first reading within
:data:`REACHED_SHARE` of the set-point closes the step; the slope between the first and last readings in
between is the ramp (with fewer than two of them, the W between the marks over the time between the
middles of their read intervals). A step that a single read interval covered whole (a fast ramp read
every 5 s) only bounds the ramp from below: ``ramp_at_least_w_per_s``. Pure: time is seconds on any fixed
epoch, given by the caller.
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
MOVED_SHARE = 0.25  # a step has started once a reading covered this share of it ...
REACHED_SHARE = 0.9  # ... and is over once a reading covered this share
RAMP_TIMEOUT_S = 120.0  # a step not over by then (a limit, a SoC cut-off) times no ramp
FULL_CONFIDENCE_STEPS = 10


@dataclass(frozen=True, slots=True)
class DeadTimeEstimate:
    """Seconds from a write to the battery's first move, with confidence 0..1, resolution and evidence."""

    dead_time_s: float
    confidence: float
    resolution_s: float
    steps: int
    ramp_w_per_s: float | None = None  # median of the ramps timed over more than one read interval
    ramp_steps: int = 0
    ramp_at_least_w_per_s: float | None = None  # the most a step covered within one read interval


@dataclass(slots=True)
class _Awaited:
    """A command whose effect is still awaited."""

    at: float
    before_w: float
    target_w: float
    unmoved_at: float

    def needed_w(self) -> float:
        return max(MOVED_W, abs(self.target_w - self.before_w) * MOVED_SHARE)

    def covered_w(self, battery_w: float) -> float:
        direction = 1.0 if self.target_w > self.before_w else -1.0
        return (battery_w - self.before_w) * direction

    def moved(self, battery_w: float) -> bool:
        return self.covered_w(battery_w) >= self.needed_w()

    def reached(self, battery_w: float) -> bool:
        return self.covered_w(battery_w) >= abs(self.target_w - self.before_w) * REACHED_SHARE


@dataclass(slots=True)
class _Ramping:
    """A step that started (crossed the quarter mark between ``start_low`` and ``start_high``)."""

    step: _Awaited
    start_low: float
    start_high: float
    below_at: float
    inside: list[tuple[float, float]]  # readings between the two marks: (t, covered W)


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
        self._ramping: _Ramping | None = None
        self._ramps: deque[float] = deque(maxlen=window)
        self._ramp_floor: float | None = None
        self._last_command_t = -math.inf

    def command(self, t: float, target_w: float) -> None:
        """A set-point was issued at ``t``."""
        self._awaited = None
        self._ramping = None
        quiet = t - self._last_command_t >= QUIET_S
        self._last_command_t = t
        if quiet and self._battery_w is not None and abs(target_w - self._battery_w) >= MIN_STEP_W:
            self._awaited = _Awaited(t, self._battery_w, target_w, t)

    def reading(self, t: float, battery_w: float) -> bool:
        """A battery reading at ``t``; True when it completed an observation."""
        self._battery_w = battery_w
        if self._ramping is not None:
            self._time_ramp(t, battery_w, self._ramping)
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
        self._ramping = _Ramping(awaited, awaited.unmoved_at, t, t, [])
        self._time_ramp(t, battery_w, self._ramping)
        return True

    def _time_ramp(self, t: float, battery_w: float, ramping: _Ramping) -> None:
        """Follow a started step to its end; then time its ramp.

        Two readings inside the ramp give its slope exactly (a straight ramp); with fewer, the crossings
        of the two marks are taken at the middle of their read intervals; a step that one interval held
        whole only bounds the ramp from below.
        """
        step = ramping.step
        if not step.reached(battery_w):
            ramping.below_at = t
            ramping.inside.append((t, step.covered_w(battery_w)))
            if t - ramping.start_high > RAMP_TIMEOUT_S:
                self._ramping = None
            return
        self._ramping = None
        inside = ramping.inside
        if len(inside) >= 2 and inside[-1][1] > inside[0][1]:
            (t0, w0), (t1, w1) = inside[0], inside[-1]
            self._ramps.append((w1 - w0) / (t1 - t0))
            return
        covered_w = abs(step.target_w - step.before_w) * REACHED_SHARE - step.needed_w()
        if covered_w <= 0.0:
            return
        if t == ramping.start_high:  # one read interval held both crossings
            bound = covered_w / max(t - ramping.start_low, 1e-9)
            self._ramp_floor = max(self._ramp_floor or 0.0, bound)
            return
        seconds = (ramping.below_at + t) / 2 - (ramping.start_low + ramping.start_high) / 2
        if seconds > 0.0:
            self._ramps.append(covered_w / seconds)

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
        ramps = self._ramps
        return DeadTimeEstimate(
            dead_time_s=middle,
            confidence=confidence,
            resolution_s=resolution,
            steps=steps,
            ramp_w_per_s=median(ramps) if ramps else None,
            ramp_steps=len(ramps),
            ramp_at_least_w_per_s=self._ramp_floor,
        )
