"""The legacy MQTT path end to end: the daemon drives a simulated Hyper 2000 through a real Mosquitto broker
and follows the demo schedule through charge, discharge, NetZero and NetZero+ (``zsm demo --battery
hyper2000``'s code, accelerated 20x)."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.demo import DemoOptions, DemoSystem
from controller.domain.commands import CommandKind
from controller.domain.events import BatteryReading, CommandIssued, CommandResult, StateChanged
from controller.simulation.devices.mosquitto import broker_listening, mosquitto_binary
from storage.event_log import EventLog


@pytest.mark.slow
def test_daemon_follows_the_demo_schedule_on_a_hyper_over_mqtt(tmp_path: Path) -> None:
    if not broker_listening("127.0.0.1", 1883) and mosquitto_binary() is None:
        pytest.skip("no MQTT broker at 127.0.0.1:1883 and mosquitto is not installed")
    system = DemoSystem(
        DemoOptions(directory=tmp_path / "demo", speed=20.0, password="demo-password-1", battery="hyper2000")
    )
    try:
        info = system.start()
        assert 'kind = "mqtt"' in info.config_path.read_text()
        # the demo's charge, discharge and NetZero slots take 10 minutes; NetZero+ follows, seen for a minute
        code = system.run_daemon(max_ticks=11 * 60)
    finally:
        system.stop()
    assert code == 0
    assert system.legacy is not None and system.legacy.ignored == []

    log = EventLog.open_sqlite(info.daemon_database, site_id="demo", migrate=False)
    events = [s.event for s in log.iter_events()]
    log.close()
    states = [e.to_state for e in events if isinstance(e, StateChanged)]
    assert {"Charging", "Discharging", "NetZero", "NetZeroPlus"} <= set(states), states
    issued = [e for e in events if isinstance(e, CommandIssued)]
    charging = [e.command for e in issued if e.state == "Charging"]
    assert CommandKind.CHARGE in {c.kind for c in charging}
    results = [e for e in events if isinstance(e, CommandResult)]
    assert results and all(r.ok for r in results)
    readings = [e for e in events if isinstance(e, BatteryReading)]
    assert min(r.battery_w for r in readings) <= -500, "the Hyper charged at the slot's 600 W (ramped)"
    assert max(r.battery_w for r in readings) >= 300, "and discharged"
    netzero = [e for e in issued if e.state == "NetZero"]
    assert any(e.command.kind is CommandKind.DISCHARGE for e in netzero)
    sent = [m for m in system.legacy.received if m.topic.endswith("/function/invoke")]
    assert len(sent) >= 4
