"""Replay: the recorded commands of a real (virtual-time) daemon log are reproduced; a changed knob shows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from controller.cli import main
from controller.domain.commands import Command
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    CommandResult,
    DaemonStarted,
    DaemonStopped,
    EventBase,
    ForwarderCursorAdvanced,
    MeterReading,
    ScheduleLoaded,
    StateChanged,
    Ticked,
)
from controller.logtools.common import open_log, settings_with
from controller.logtools.replay import compare_commands, plan_ticks, replay_events
from controller.settings import RegulationSettings, Settings
from tests.logtools._plant_daemon import PlantRun
from tests.logtools._scenario import netzero_settings

T = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def _replay(run: PlantRun, settings: Settings):  # type: ignore[no-untyped-def]
    log = open_log(run.path)
    try:
        return replay_events(log.iter_events(), settings)
    finally:
        log.close()


def test_replay_reproduces_every_recorded_command(netzero_log: PlantRun) -> None:
    report = _replay(netzero_log, netzero_settings(netzero_log.path))

    assert report.reproduced, report.first_differences
    assert report.recorded_commands == netzero_log.commands >= 10
    assert report.matched == report.recorded_commands == report.replayed_commands
    assert report.restarts == 2  # the first start and the restart at 18:10
    assert report.stop_commands == 2  # the daemon's own standby at the restart and at the end
    assert report.state_changes_replayed == report.state_changes_recorded
    assert report.ticks > report.recorded_commands
    assert report.current_config_digest in report.log_config_digests


def test_replay_detects_a_changed_regulator_parameter(netzero_log: PlantRun) -> None:
    settings = netzero_settings(netzero_log.path).model_copy(
        update={"regulation": RegulationSettings(deadband_w=60.0)}
    )

    report = _replay(netzero_log, settings)

    assert not report.reproduced
    assert report.differing + report.recorded_only + report.replayed_only > 0
    assert report.first_differences
    first = report.first_differences[0]
    assert first.recorded_at is not None or first.replayed_at is not None


def test_plan_ticks_cuts_the_log_at_the_tick_markers() -> None:
    standby = Command.standby()
    events: list[EventBase] = [
        # tick 1: marker, worker result, battery, meter, then the core's outputs
        Ticked(at=_at(0.05)),
        ScheduleLoaded(at=_at(-0.4), source="file", schedule={"default": {"mode": "netzero"}}),
        BatteryReading(at=_at(0.01), soc_pct=50, battery_w=0),
        MeterReading(at=_at(0.03), grid_w=100),
        StateChanged(at=_at(0.05), from_state="Standby", to_state="NetZero", trigger="clock_tick", reason=""),
        CommandIssued(at=_at(0.05), command=standby, state="NetZero", inputs={"trigger": "clock_tick"}),
        # tick 2: the previous tick's device outcome and a meter reading, no decision
        Ticked(at=_at(1.04)),
        CommandResult(at=_at(0.08), command=standby, ok=True, latency_ms=30),
        MeterReading(at=_at(1.01), grid_w=90),
        # tick 3 read nothing new: still a tick, at its own time
        Ticked(at=_at(2.02)),
        ForwarderCursorAdvanced(at=_at(2.5), seq=3),  # the worker's bookkeeping is not part of a tick
    ]

    steps = list(plan_ticks(events))

    assert [s.tick_at for s in steps] == [_at(0.05), _at(1.04), _at(2.02)]
    assert [e.kind for e in steps[0].inputs] == ["schedule_loaded", "battery_reading", "meter_reading"]
    assert [e.kind for e in steps[1].inputs] == ["command_result", "meter_reading"]
    assert steps[2].inputs == []


def test_plan_ticks_restarts_and_skips_the_stop_standby() -> None:
    events: list[EventBase] = [
        DaemonStarted(at=_at(0), version="0.1.0", config_digest="x"),
        Ticked(at=_at(0.1)),
        MeterReading(at=_at(0.05), grid_w=100),
        CommandIssued(at=_at(0.5), command=Command.standby(), state="NetZero", inputs={"stop": True}),
        DaemonStopped(at=_at(0.6), reason="signal SIGTERM"),
        DaemonStarted(at=_at(10), version="0.1.0", config_digest="x"),
        Ticked(at=_at(10.1)),
    ]

    steps = list(plan_ticks(events))

    assert [(s.restart is not None, s.tick_at) for s in steps] == [
        (True, None),
        (False, _at(0.1)),
        (True, None),
        (False, _at(10.1)),
    ]
    assert [e.kind for e in steps[1].inputs] == ["meter_reading"]


def test_compare_commands_pairs_in_time_order() -> None:
    def issued(seconds: float, watts: int) -> CommandIssued:
        return CommandIssued(at=_at(seconds), command=Command.from_battery_w(watts), state="NetZero")

    recorded = [issued(0, 100), issued(10, 200), issued(20, 300)]
    replayed = [issued(0.5, 100), issued(10, 250), issued(30, 300)]

    matched, diffs = compare_commands(recorded, replayed, tolerance_s=1.0)

    assert matched == 1
    assert [d.what for d in diffs] == ["differs", "recorded_only", "replayed_only"]


def test_settings_overrides_are_validated() -> None:
    settings = settings_with(Settings(), ["regulation.deadband_w=40", "regulation.lag_s=auto"])
    assert settings.regulation.deadband_w == 40
    with pytest.raises(ValueError, match="unknown setting"):
        settings_with(Settings(), ["regulation.no_such_knob=1"])
    with pytest.raises(ValueError):
        settings_with(Settings(), ["regulation.deadband_w=-5"])


def test_cli_replay_exit_codes(netzero_log: PlantRun, capsys: pytest.CaptureFixture[str]) -> None:
    config = netzero_log.path.with_name("zsm.toml")
    config.write_text(f'database_path = "{netzero_log.path}"\n')
    assert main(["--config", str(config), "replay", str(netzero_log.path)]) == 0
    assert "result: REPRODUCED" in capsys.readouterr().out

    args = ["--config", str(config), "replay", str(netzero_log.path), "--set", "regulation.deadband_w=60"]
    assert main([*args, "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["reproduced"] is False and report["first_differences"]

    assert main(["replay", str(netzero_log.path.with_name("missing.db"))]) == 2


def test_replay_reproduces_a_daemon_log_recorded_with_auto_lag(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from controller.simulation.plant import MeterParams
    from tests.logtools._plant_daemon import run_daemon
    from tests.logtools._scenario import PLANT_LAG_S, RESTART_AT_S, SCHEDULE, SECONDS, T0, household

    path = tmp_path / "auto.db"
    base = netzero_settings(path)
    settings = base.model_copy(update={"regulation": base.regulation.model_copy(update={"lag_s": "auto"})})
    run = run_daemon(
        path,
        settings,
        household(),
        SCHEDULE,
        T0,
        seconds=SECONDS,
        meter=MeterParams(lag_s=PLANT_LAG_S),
        restart_at_s=RESTART_AT_S,
    )

    report = _replay(run, settings)

    assert report.reproduced, report.first_differences
    assert report.restarts == 2 and report.matched == report.recorded_commands >= 10
