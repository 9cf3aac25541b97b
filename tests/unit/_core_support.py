"""Shared helpers for the controller-core tests: a small real regulator and a scenario driver."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from controller.domain.commands import Command
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    DeviceFault,
    EventBase,
    LagEstimated,
    MeterReading,
    ScheduleLoaded,
    SourceRecovered,
    SourceStale,
    StateChanged,
)
from controller.domain.machine import ControllerCore
from controller.domain.regulation import PowerLimits, RegulationMode, RegulatorDecision, fit_setpoint
from controller.settings import LimitSettings

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)  # a Monday


class ProportionalRegulator:
    """A real (if simple) regulator: new set-point = last command + gain × (grid − target offset).

    Its memory comes only from ``observe``: the last meter reading and the last command issued.
    """

    def __init__(
        self,
        gain: float = 1.0,
        deadband_w: float = 20.0,
        emit_lag: bool = False,
        start_threshold_w: float = 0.0,
    ) -> None:
        self.gain = gain
        self.start_threshold_w = start_threshold_w
        self.deadband_w = deadband_w
        self.emit_lag = emit_lag
        self.grid_w: float | None = None
        self.commanded_w = 0.0
        self.resets = 0
        self.observed: list[str] = []

    def observe(self, event: EventBase) -> None:
        self.observed.append(event.kind)
        if isinstance(event, MeterReading):
            self.grid_w = event.grid_w
        elif isinstance(event, CommandIssued):
            self.commanded_w = float(event.command.battery_w)

    def reset(self) -> None:
        self.resets += 1

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        if self.grid_w is None:
            return None
        raw = self.commanded_w + self.gain * (self.grid_w - target_offset_w)
        target = fit_setpoint(raw, mode, limits, self.start_threshold_w)
        events: tuple[EventBase, ...] = ()
        if self.emit_lag:
            events = (LagEstimated(at=now, lag_s=20.0, confidence=0.5),)
        return RegulatorDecision(
            battery_w=target,
            write=abs(target - self.commanded_w) >= self.deadband_w,
            inputs={"reg_grid_w": self.grid_w, "reg_target_w": raw, "reg_mode": mode.value},
            events=events,
        )


def schedule_of(mode: str, **params: Any) -> dict[str, Any]:
    """A schedule whose default is ``mode`` (so it applies at every instant)."""
    return {"default": {"mode": mode, **params}}


@dataclass
class Driver:
    """Feeds a core in virtual time and keeps the whole log (inputs + what the core recorded)."""

    core: ControllerCore
    now: datetime = T0
    log: list[EventBase] = field(default_factory=list)
    last: list[EventBase] = field(default_factory=list)

    def feed(self, event: EventBase) -> list[EventBase]:
        self.log.append(event)
        self.core.handle(event)
        return self._collect()

    def tick(self, seconds: float = 0.0) -> list[EventBase]:
        self.now += timedelta(seconds=seconds)
        self.core.tick(self.now)
        return self._collect()

    def _collect(self) -> list[EventBase]:
        self.last = self.core.take_pending()
        self.log.extend(self.last)
        return self.last

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    # -- input shorthands ---------------------------------------------------------------------------

    def schedule(self, data: dict[str, Any]) -> list[EventBase]:
        return self.feed(ScheduleLoaded(at=self.now, source="test", schedule=data))

    def battery(self, soc_pct: float = 50.0, **extra: Any) -> list[EventBase]:
        extra.setdefault("battery_w", 0.0)
        return self.feed(BatteryReading(at=self.now, soc_pct=soc_pct, **extra))

    def meter(self, grid_w: float = 0.0) -> list[EventBase]:
        return self.feed(MeterReading(at=self.now, grid_w=grid_w))

    def fault(self, active: bool = True, source: str = "battery") -> list[EventBase]:
        return self.feed(DeviceFault(at=self.now, source=source, detail="test fault", active=active))

    def stale(self, source: str) -> list[EventBase]:
        return self.feed(SourceStale(at=self.now, source=source, age_s=99.0))

    def recovered(self, source: str) -> list[EventBase]:
        return self.feed(SourceRecovered(at=self.now, source=source, outage_s=99.0))

    # -- what happened ------------------------------------------------------------------------------

    def commands(self, events: list[EventBase] | None = None) -> list[Command]:
        return [e.command for e in (self.last if events is None else events) if isinstance(e, CommandIssued)]

    def changes(self, events: list[EventBase] | None = None) -> list[tuple[str, str, str]]:
        return [
            (e.from_state, e.to_state, e.trigger)
            for e in (self.last if events is None else events)
            if isinstance(e, StateChanged)
        ]


def make_driver(
    regulator: ProportionalRegulator | None = None, *, start_threshold_w: float = 0.0, **limits: Any
) -> Driver:
    core = ControllerCore(
        LimitSettings(**limits).domain(),
        regulator or ProportionalRegulator(start_threshold_w=start_threshold_w),
    )
    return Driver(core)
