"""A daemon run in virtual time: the real ControlLoop (core, regulator, SQLite event log) over plant models.

The ports stand in for the LAN adapters only: the meter port hands over the newest telegram of a
:class:`MeterPlant`, the battery port reads and commands a :class:`BatteryPlant`. Each device call moves
the :class:`ManualClock` on by a few milliseconds (the round trip), so reading times and tick times differ
the way they do on the Pi.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.clock import ManualClock
from controller.core_factory import build_core
from controller.daemon.control_loop import ControlLoop
from controller.domain.commands import Command
from controller.domain.events import (
    BatteryReading,
    CommandResult,
    DaemonStarted,
    DaemonStopped,
    EventBase,
    MeterReading,
    ScheduleLoaded,
)
from controller.settings import Settings
from controller.simulation.plant import BatteryParams, BatteryPlant, Household, MeterParams, MeterPlant
from storage.event_log import EventLog

METER_LATENCY_S = 0.012
BATTERY_LATENCY_S = 0.025
WRITE_LATENCY_S = 0.031


@dataclass
class _Outcome:
    accepted: bool
    events: tuple[EventBase, ...]


class PlantMeter:
    """MeterPort over a MeterPlant: the newest telegram due, or None when nothing new arrived."""

    def __init__(self, clock: ManualClock, meter: MeterPlant, t0: datetime) -> None:
        self.clock, self.meter, self.t0 = clock, meter, t0

    def read(self) -> MeterReading | None:
        k = (self.clock.now() - self.t0).total_seconds()
        telegrams = self.meter.poll(k)
        self.clock.advance(METER_LATENCY_S)
        if not telegrams:
            return None
        last = telegrams[-1]
        return MeterReading(
            at=self.clock.now(), grid_w=last.grid_w, meter_time=self.t0 + timedelta(seconds=last.at_s)
        )


class PlantBattery:
    """BatteryPort over a BatteryPlant."""

    def __init__(self, clock: ManualClock, battery: BatteryPlant, t0: datetime) -> None:
        self.clock, self.battery, self.t0 = clock, battery, t0

    def _k(self) -> float:
        return (self.clock.now() - self.t0).total_seconds()

    def poll(self) -> list[EventBase]:
        self.clock.advance(BATTERY_LATENCY_S)
        snap = self.battery.snapshot()
        return [
            BatteryReading(
                at=self.clock.now(),
                soc_pct=round(min(100.0, max(0.0, snap.soc_pct)), 1),
                battery_w=round(snap.battery_w, 1),
                max_discharge_w=int(snap.live_max_discharge_w),
                max_charge_w=int(snap.live_max_charge_w),
                soc_limit=snap.soc_limit,
                ac_mode=snap.ac_mode,
            )
        ]

    def apply(self, command: Command) -> _Outcome:
        self.battery.command(command, at=self._k())
        self.clock.advance(WRITE_LATENCY_S)
        result = CommandResult(
            at=self.clock.now(), command=command, ok=True, latency_ms=WRITE_LATENCY_S * 1000
        )
        return _Outcome(True, (result,))


@dataclass
class PlantRun:
    """What a run left behind besides the log: the truth, for checking the tools."""

    path: Path
    t0: datetime
    seconds: int
    lag_s: float
    commands: int = 0
    grid_w: list[float] = field(default_factory=list)
    battery_w: list[float] = field(default_factory=list)


def run_daemon(
    path: Path,
    settings: Settings,
    household: Household,
    schedule: dict[str, Any],
    t0: datetime,
    *,
    seconds: int,
    meter: MeterParams | None = None,
    battery: BatteryParams | None = None,
    restart_at_s: int | None = None,
) -> PlantRun:
    """Run the control loop for ``seconds`` ticks of 1 s from ``t0``, logging to a fresh SQLite log."""
    clock = ManualClock(t0)
    meter_plant = MeterPlant(meter or MeterParams())
    battery_plant = BatteryPlant(battery or BatteryParams())
    log = EventLog.open_sqlite(path, site_id="home")
    run = PlantRun(path, t0, seconds, meter_plant.params.lag_s)

    def start() -> ControlLoop:
        loop = ControlLoop(
            core=build_core(settings),
            log=log,
            clock=clock,
            battery=PlantBattery(clock, battery_plant, t0),
            meter=PlantMeter(clock, meter_plant, t0),
            battery_interval_s=settings.battery.read_interval_s,
            meter_interval_s=settings.meter.poll_interval_s,
        )
        loop.restore()
        log.append(DaemonStarted(at=clock.now(), version="test", config_digest=settings.digest()))
        return loop

    try:
        loop = start()
        extra: list[EventBase] = [ScheduleLoaded(at=clock.now(), source="file", schedule=schedule, version=1)]
        for k in range(seconds):
            clock.set(t0 + timedelta(seconds=k))
            if restart_at_s is not None and k == restart_at_s:
                loop.command_standby("daemon stopping: test restart")
                log.append(DaemonStopped(at=clock.now(), reason="test restart"))
                clock.advance(0.2)
                loop = start()
            b = battery_plant.step(k)
            grid = round(household.load_at(k) - household.pv_at(k) - b, 1)
            meter_plant.record(k, grid)
            run.grid_w.append(grid)
            run.battery_w.append(b)
            run.commands += len(loop.tick(extra))
            extra = []
        loop.command_standby("daemon stopping: end of run")
        log.append(DaemonStopped(at=clock.now(), reason="end of run"))
    finally:
        log.close()
    return run
