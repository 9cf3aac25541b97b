"""The contract between the state machine and a NetZero / NetZero+ regulator.

The machine owns states and safety; a :class:`Regulator` only proposes a signed battery set-point while
the machine is in NetZero or NetZeroPlus, already fitted by :func:`fit_setpoint` (direction, limits, start
threshold: the one place they are applied); the machine refuses (standby) a proposal outside the limits.
The machine feeds the regulator every event it sees (readings, its own commands) through
:meth:`Regulator.observe`, and asks :meth:`Regulator.decide` on each meter reading and tick.
Implementations: the zsm regulator and the baselines (naive, oracle, lagged oracle).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from controller.domain.events import EventBase

__all__ = [
    "PowerLimits",
    "RegulationMode",
    "Regulator",
    "RegulatorDecision",
    "Scalar",
    "apply_start_threshold",
    "clamp_to_mode",
    "fit_setpoint",
]

Scalar = float | int | str | bool | None


class RegulationMode(StrEnum):
    """Which regulated mode is active."""

    NETZERO = "netzero"
    NETZERO_PLUS = "netzero_plus"


@dataclass(frozen=True)
class PowerLimits:
    """Effective limits now: the smallest of config, the device's live limits and the slot's ``max_w``."""

    max_discharge_w: int
    max_charge_w: int


@dataclass(frozen=True)
class RegulatorDecision:
    """A proposed set-point (+ discharge, − charge), whether it is worth writing now, and why."""

    battery_w: float
    write: bool
    inputs: dict[str, Scalar] = field(default_factory=dict)
    events: tuple[EventBase, ...] = ()


class Regulator(Protocol):
    """A pure, deterministic set-point computer (its only memory is what it was shown)."""

    def observe(self, event: EventBase) -> None:
        """Learn from an event: meter/battery readings, issued commands, results."""
        ...

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        """Propose a set-point at ``now``; ``None`` when there is not enough data to decide."""
        ...

    def reset(self) -> None:
        """Forget the control memory (not the learned lag) when a regulated mode is (re)entered."""
        ...


def clamp_to_mode(battery_w: float, mode: RegulationMode, limits: PowerLimits) -> float:
    """Clamp a signed set-point to what ``mode`` allows: NetZero discharges only, NetZero+ charges only."""
    if mode is RegulationMode.NETZERO:
        return min(max(battery_w, 0.0), float(limits.max_discharge_w))
    return max(min(battery_w, 0.0), -float(limits.max_charge_w))


def apply_start_threshold(battery_w: float, threshold_w: float) -> float:
    """Respect a battery that gives no output below ``threshold_w``: 0 or at least the threshold, whichever
    lies closer to the wish (below half the threshold, 0)."""
    magnitude = abs(battery_w)
    if magnitude >= threshold_w or magnitude == 0.0:
        return battery_w
    if magnitude < threshold_w / 2:
        return 0.0
    return threshold_w if battery_w > 0 else -threshold_w


def fit_setpoint(battery_w: float, mode: RegulationMode, limits: PowerLimits, threshold_w: float) -> float:
    """The one place a regulated set-point is fitted: to the mode's direction and the limits, then to the
    battery's start threshold (:func:`apply_start_threshold`; 0 when even the limit is below it). Every
    regulator's proposal passes here (written out: it runs a few times a second).
    """
    if mode is RegulationMode.NETZERO:
        cap = float(limits.max_discharge_w)
        watts = min(max(battery_w, 0.0), cap)
    else:
        cap = float(limits.max_charge_w)
        watts = max(min(battery_w, 0.0), -cap)
    magnitude = abs(watts)
    if magnitude >= threshold_w or magnitude == 0.0:
        return watts
    if magnitude < threshold_w / 2 or cap < threshold_w:
        return 0.0
    return threshold_w if watts > 0 else -threshold_w
