"""The control loop against simulated devices over real loopback HTTP, in virtual time."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from controller.daemon.control_loop import ControlLoop
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.zendure_client import ZendureClient
from controller.domain.commands import CommandKind
from controller.domain.events import CommandIssued, CommandResult, MeterReading, ScheduleLoaded, StateChanged
from controller.domain.machine import ControllerCore
from controller.domain.regulator import ZsmRegulator
from controller.settings import LimitSettings, RegulationSettings
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.zendure_server import ZendureServer
from storage.event_log import EventLog
from tests.daemon.conftest import START, Site


def schedule(*slots: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": "Europe/Amsterdam",
        "default": {"mode": "standby"},
        "recurring": [],
        "dated": list(slots),
    }


def slot(mode: str, start_min: float, end_min: float, **extra: Any) -> dict[str, Any]:
    def iso(minutes: float) -> str:
        return (START + timedelta(minutes=minutes)).isoformat()

    return {
        "id": f"{mode}-{start_min:g}",
        "start": iso(start_min),
        "end": iso(end_min),
        "mode": mode,
        **extra,
    }


def make_loop(site: Site, log: EventLog) -> ControlLoop:
    regulation = RegulationSettings(lag_s=5.0)
    core = ControllerCore(
        LimitSettings().domain(),
        ZsmRegulator(regulation.domain()),
    )
    battery = ZendureClient(site.zendure.url.removeprefix("http://"), clock=site.clock)
    meter = HomeWizardV1Meter(site.meter.url.removeprefix("http://"), clock=site.clock)
    return ControlLoop(
        core=core,
        log=log,
        clock=site.clock,
        battery=battery,
        meter=meter,
        battery_interval_s=5,
        meter_interval_s=1,
    )


def run(loop: ControlLoop, site: Site, seconds: int, extra: list[Any] | None = None) -> None:
    loop.tick(extra or [])
    for _ in range(seconds):
        site.clock.advance(1)
        loop.tick()


def test_follows_a_schedule_through_charge_discharge_and_netzero(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    plan = schedule(
        slot("charge", 0, 3, power_w=500), slot("discharge", 3, 6, power_w=300), slot("netzero", 6, 16)
    )
    run(loop, site, 16 * 60, [ScheduleLoaded(at=START, source="test", schedule=plan)])

    events = [s.event for s in log.iter_events()]
    issued = [e for e in events if isinstance(e, CommandIssued)]
    kinds = [e.command.kind for e in issued]
    assert CommandKind.CHARGE in kinds and CommandKind.DISCHARGE in kinds
    states = [e.to_state for e in events if isinstance(e, StateChanged)]
    assert states[:3] == ["Charging", "Discharging", "NetZero"]
    assert all(isinstance(e, CommandResult) and e.ok for e in events if isinstance(e, CommandResult))
    # In NetZero the true grid import settles near zero despite the 5 s meter lag.
    meter = [e for e in events if isinstance(e, MeterReading) and e.at >= START + timedelta(minutes=12)]
    assert meter, "meter readings were logged"
    mean_import = sum(max(0.0, m.grid_w) for m in meter) / len(meter)
    assert mean_import < 60, f"NetZero left {mean_import:.0f} W average import"
    assert site.home.battery.battery_w > 300


def test_restart_restores_state_from_the_log(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    plan = schedule(slot("netzero", 0, 30))
    run(loop, site, 120, [ScheduleLoaded(at=START, source="test", schedule=plan)])
    state_before = loop.core.state
    command_before = loop.core.last_command
    before = log.count()

    restarted = make_loop(site, log)
    restarted.restore()
    assert restarted.core.state == state_before
    assert restarted.core.last_command == command_before
    assert log.count() == before, "restoring appended nothing"
    run(restarted, site, 30)
    assert restarted.core.state == state_before


def test_battery_outage_logs_once_and_recovers(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    run(loop, site, 10, [ScheduleLoaded(at=START, source="test", schedule=schedule(slot("netzero", 0, 30)))])
    port = site.zendure.port
    site.zendure.stop()
    run(loop, site, 90)
    site.zendure = ZendureServer(site.home.battery_port, site.clock, port=port)
    site.zendure.start()
    run(loop, site, 120)
    kinds = [s.kind for s in log.iter_events()]
    assert kinds.count("source_stale") == 1
    assert kinds.count("source_recovered") == 1
    states = [s.event.to_state for s in log.iter_events() if isinstance(s.event, StateChanged)]
    assert "Standby" in states[1:], "stale battery data led to Standby"
    assert loop.core.state == "NetZero"


def test_meter_outage_in_netzero_goes_to_standby_and_back(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    run(loop, site, 60, [ScheduleLoaded(at=START, source="test", schedule=schedule(slot("netzero", 0, 30)))])
    assert loop.core.state == "NetZero"
    port = site.meter.port
    site.meter.stop()
    run(loop, site, 60)
    assert loop.core.state == "Standby"
    assert loop.core.last_command is not None and loop.core.last_command.kind is CommandKind.STANDBY
    site.meter = HomeWizardV1Server(site.home.meter_port, site.clock, port=port)
    site.meter.start()
    run(loop, site, 60)
    assert loop.core.state == "NetZero"
    kinds = [s.kind for s in log.iter_events()]
    assert kinds.count("source_stale") == 1 and kinds.count("source_recovered") == 1


def test_status_reports_state_slot_and_device_limits(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    run(loop, site, 30, [ScheduleLoaded(at=START, source="test", schedule=schedule(slot("netzero", 0, 30)))])
    status = loop.status()
    assert status.state == "NetZero"
    assert status.slot == {"mode": "netzero", "id": "netzero-0"}
    assert (status.max_charge_w, status.max_discharge_w) == (1000, 800)  # SF800 Pro: 1000 W in, 800 W out
    assert status.soc_pct is not None and status.grid_w is not None
    assert status.last_command is not None and status.last_command_at is not None


def test_a_frozen_meter_is_stale_data_and_netzero_stands_by(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    run(loop, site, 60, [ScheduleLoaded(at=START, source="test", schedule=schedule(slot("netzero", 0, 30)))])
    assert loop.core.state == "NetZero"
    site.meter.view.frozen = True  # the meter answers, but with the same telegram (same timestamp) again
    run(loop, site, 20)
    assert loop.core.state == "NetZero", "a short freeze is within meter_stale_s (30 s)"
    run(loop, site, 20)
    assert loop.core.state == "Standby"
    assert loop.core.last_command is not None and loop.core.last_command.kind is CommandKind.STANDBY
    site.meter.view.frozen = False
    run(loop, site, 30)
    assert loop.core.state == "NetZero"
    kinds = [s.kind for s in log.iter_events()]
    assert "source_stale" not in kinds, "nothing failed: the data just stopped being new"
