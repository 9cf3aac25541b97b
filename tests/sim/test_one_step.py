"""The daemon, the simulator and replay drive the same core step: same inputs, same events."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.core_factory import build_core
from controller.daemon.control_loop import ControlLoop
from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandIssued, EventBase, MeterReading, Ticked
from controller.logtools.replay import plan_ticks, replay_events
from controller.settings import LimitSettings, Settings
from controller.simulation.closed_loop import Scenario, build_regulator, regulation_for, run_closed_loop
from controller.simulation.plant import BatteryParams, MeterParams, synthetic_household
from storage.event_log import EventLog, StoredEvent

START = datetime(2026, 6, 1, 17, 0, tzinfo=UTC)
DECISIONS = ("slot_changed", "state_changed", "command_issued", "lag_estimated")


def _scenario(lag_s: float = 20.0) -> Scenario:
    return Scenario(
        household=synthetic_household(seed=3, duration_s=1800, start_hour=17.0),
        battery=BatteryParams(capacity_wh=20000.0),
        meter=MeterParams(lag_s=lag_s),
        limits=LimitSettings(max_discharge_w=800, max_charge_w=1000),
        start=START,
        battery_read_interval_s=5,
    )


def _simulate(assume_lag: float | str) -> tuple[Settings, list[EventBase], list[CommandIssued]]:
    scenario = _scenario()
    regulation = regulation_for(scenario, assume_lag=assume_lag)
    settings = Settings(limits=scenario.limits, regulation=regulation)
    log: list[EventBase] = []
    result = run_closed_loop(scenario, build_regulator("zsm", scenario, regulation), event_sink=log.extend)
    commands = [e for e in log if isinstance(e, CommandIssued)]
    assert len(commands) == len(result.series.commands) > 20
    return settings, log, commands


def _stored(events: list[EventBase]) -> Iterator[StoredEvent]:
    for seq, event in enumerate(events, 1):
        yield StoredEvent(seq=seq, event=event, site_id="sim", schema_version=1, software_version="t")


@pytest.mark.parametrize("assume_lag", [20.0, "auto"])
def test_replay_of_a_simulated_run_reproduces_its_commands(assume_lag: float | str) -> None:
    settings, log, commands = _simulate(assume_lag)

    report = replay_events(_stored(log), settings)

    assert report.reproduced, report.first_differences
    assert report.recorded_commands == report.replayed_commands == report.matched == len(commands)
    assert report.ticks == 1800


def test_replay_notices_a_different_regulator_on_a_simulated_log() -> None:
    settings, log, _ = _simulate(20.0)
    other = settings.model_copy(
        update={"regulation": settings.regulation.model_copy(update={"deadband_w": 200.0})}
    )

    assert not replay_events(_stored(log), other).reproduced


@dataclass
class _Accepted:
    accepted: bool = True
    events: tuple[EventBase, ...] = ()


class _TickFeed:
    """Battery and meter ports that hand the daemon, tick by tick, what the simulator's core was fed."""

    def __init__(self, ticks: list[list[EventBase]]) -> None:
        self.ticks = ticks
        self.index = 0
        self.sent: list[Command] = []

    def poll(self) -> list[EventBase]:
        return [e for e in self.ticks[self.index] if isinstance(e, BatteryReading)]

    def read(self) -> MeterReading | None:
        meters = [e for e in self.ticks[self.index] if isinstance(e, MeterReading)]
        assert len(meters) <= 1
        return meters[0] if meters else None

    def apply(self, command: Command) -> _Accepted:
        self.sent.append(command)
        return _Accepted()


def test_daemon_loop_and_simulator_loop_make_the_same_events(tmp_path: Path) -> None:
    settings, sim_log, commands = _simulate("auto")
    steps = list(plan_ticks(sim_log))
    feed = _TickFeed([step.inputs for step in steps])
    clock = ManualClock(START)
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="sim")
    loop = ControlLoop(
        core=build_core(settings),
        log=log,
        clock=clock,
        battery=feed,
        meter=feed,
        battery_interval_s=1.0,
        meter_interval_s=1.0,
    )
    try:
        for index, step in enumerate(steps):
            assert step.tick_at is not None
            clock.set(step.tick_at)
            feed.index = index
            extra = [e for e in step.inputs if not isinstance(e, BatteryReading | MeterReading)]
            loop.tick(extra)
        daemon_log = [stored.event for stored in log.iter_events()]
    finally:
        log.close()

    assert [e for e in daemon_log if not isinstance(e, Ticked)] == sim_log
    assert [e for e in daemon_log if e.kind in DECISIONS] == [e for e in sim_log if e.kind in DECISIONS]
    assert feed.sent == [c.command for c in commands]
