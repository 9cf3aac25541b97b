"""The regulator learns the battery's dead time online from the readings after its writes (and logs it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.core_factory import build_core
from controller.domain.events import CommandIssued, DeadTimeEstimated, EventBase
from controller.domain.machine import ControllerCore
from controller.domain.regulation import RegulationMode
from controller.domain.regulator import ZsmRegulator
from controller.logtools.audit import collect_audit_events, explain_at, format_audit
from controller.logtools.replay import replay_events
from controller.settings import LimitSettings, RegulationSettings, Settings
from controller.simulation.closed_loop import Scenario, regulation_for, run_closed_loop
from controller.simulation.plant import BatteryParams, Household, MeterParams
from storage.event_log import EventLog, StoredEvent

LEVELS = (300.0, 700.0, 200.0, 600.0, 100.0, 500.0) * 3  # 18 load steps, 240 s each


def _run(
    dead_time_s: float, *, learn: bool = True
) -> tuple[Scenario, RegulationSettings, ZsmRegulator, list[EventBase]]:
    load = tuple(level for level in LEVELS for _ in range(240))
    scenario = Scenario(
        household=Household(load, tuple(0.0 for _ in load), name="steps"),
        battery=BatteryParams(capacity_wh=50000.0, dead_time_s=dead_time_s),
        meter=MeterParams(lag_s=10.0),
        mode=RegulationMode.NETZERO,
        limits=LimitSettings(max_discharge_w=800, max_charge_w=1000),
        start=datetime(2026, 6, 1, 12, tzinfo=UTC),
        battery_read_interval_s=5,  # the daemon's default: each observation is ±2.5 s
    )
    regulation = regulation_for(
        scenario, RegulationSettings(learn_dead_time=learn), assume_lag=10.0, assume_dead_time_s=2.0
    )
    regulator = ZsmRegulator(regulation.domain())
    log: list[EventBase] = []
    run_closed_loop(scenario, regulator, event_sink=log.extend)
    return scenario, regulation, regulator, log


def test_a_slower_battery_than_its_model_is_learned_and_logged() -> None:
    _, _, regulator, log = _run(10.0)

    learned = [e for e in log if isinstance(e, DeadTimeEstimated)]
    assert learned, "no dead time learned from 18 load steps"
    assert learned[-1].dead_time_s == pytest.approx(10.0, abs=2.5)
    assert learned[-1].steps >= 8 and learned[-1].confidence >= 0.7
    assert regulator.model.dead_time_s == learned[-1].dead_time_s


@pytest.mark.parametrize(("dead_time_s", "learn"), [(2.0, True), (10.0, False)])
def test_the_model_is_kept_when_right_or_when_learning_is_off(dead_time_s: float, learn: bool) -> None:
    _, _, regulator, log = _run(dead_time_s, learn=learn)

    assert not any(isinstance(e, DeadTimeEstimated) for e in log)
    assert regulator.model.dead_time_s == 2.0


def _stored(events: list[EventBase]) -> Iterator[StoredEvent]:
    for seq, event in enumerate(events, 1):
        yield StoredEvent(seq=seq, event=event, site_id="sim", schema_version=1, software_version="t")


def test_replay_reproduces_a_run_that_learned_its_dead_time() -> None:
    scenario, regulation, regulator, log = _run(10.0)
    learned_s = regulator.model.dead_time_s
    assert learned_s != 2.0

    cores: list[ControllerCore] = []

    def keep(settings: Settings) -> ControllerCore:
        cores.append(build_core(settings))
        return cores[-1]

    settings = Settings(limits=scenario.limits, regulation=regulation)
    report = replay_events(_stored(log), settings, core_factory=keep)

    assert report.reproduced, report.first_differences
    assert report.matched == report.recorded_commands > 15
    replayed = cores[-1].regulator
    assert isinstance(replayed, ZsmRegulator)
    assert replayed.model.dead_time_s == learned_s  # learned from the logged events alone


def test_the_audit_names_the_learned_dead_time(tmp_path: Path) -> None:
    _, _, _, events = _run(10.0)
    learned = next(e for e in events if isinstance(e, DeadTimeEstimated))
    log = EventLog.open_sqlite(tmp_path / "sim.db", site_id="simulation")
    try:
        log.append_many(events)
        at = next(e.at for e in events if isinstance(e, CommandIssued) and e.at > learned.at)
        audit = explain_at(collect_audit_events(log, at), at, "Europe/Amsterdam")
    finally:
        log.close()
    assert any(step.kind == "dead_time_estimated" for step in audit.chain)
    assert f"battery dead time learned: {learned.dead_time_s:.1f} s" in format_audit(audit)
