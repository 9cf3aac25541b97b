"""The Home Assistant bridge against a real Mosquitto: discovery, state, commands, last will, restarts."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.clock import ManualClock
from controller.daemon.server_client import StatusReport
from controller.domain.events import BatteryReading, MeterReading, OverrideRequested, ScheduleLoaded
from controller.domain.override import OVERRIDE_ID
from controller.domain.schedule import Mode, Schedule
from controller.homeassistant.bridge import HomeAssistantBridge
from controller.settings import HomeAssistantSettings, LimitSettings
from tests.homeassistant.discovery_schema import check_documented_schema
from tests.homeassistant.mqtt_support import PrivateBroker, Probe, shared_broker, unique

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def status() -> StatusReport:
    return StatusReport(
        state="NetZero",
        last_command={"kind": "discharge", "power_w": 312},
        software_version="test",
        heartbeat_at=NOW,
        slot={"mode": "netzero", "id": "evening"},
        soc_pct=64.5,
        grid_w=12.0,
        battery_w=312.0,
    )


def make_bridge(host: str, port: int, clock: ManualClock, **extra: Any) -> HomeAssistantBridge:
    settings = HomeAssistantSettings(
        enabled=True,
        host=host,
        port=port,
        discovery_prefix=unique("ha"),
        base_topic=unique("zsm"),
        override_minutes=30,
        default_power_w=600,
    )
    return HomeAssistantBridge(
        settings,
        site_id="my home",
        limits=LimitSettings(max_charge_w=1000, max_discharge_w=800),
        clock=clock,
        status=status,
        announce_jitter_s=0.0,
        sample_s=0.05,
        **extra,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOW)


@pytest.fixture
def running(clock: ManualClock) -> Iterator[tuple[HomeAssistantBridge, Probe]]:
    host, port = shared_broker()
    bridge = make_bridge(host, port, clock)
    topics = bridge.topics
    probe = Probe(host, port, [f"{topics.discovery_prefix}/#", f"{topics.base}/#"])
    bridge.start()
    try:
        yield bridge, probe
    finally:
        bridge.stop()
        probe.publish(topics.discovery, b"", retain=True)  # leave no ghost device on the shared broker
        for topic in (topics.state, topics.availability):
            probe.publish(topic, b"", retain=True)
        probe.close()


def _state(probe: Probe, bridge: HomeAssistantBridge, after: int = 0, **expect: Any) -> dict[str, Any]:
    def accept(payload: bytes) -> bool:
        if not payload:
            return False
        data = json.loads(payload)
        return all(data.get(key) == value for key, value in expect.items())

    return dict(json.loads(probe.wait_for(bridge.topics.state, accept, after=after).payload))


def test_discovery_follows_the_documented_schema_field_by_field(
    running: tuple[HomeAssistantBridge, Probe],
) -> None:
    bridge, probe = running
    topics = bridge.topics
    probe.wait_for(topics.discovery, bool)
    late = Probe(*shared_broker(), [topics.discovery])  # a Home Assistant that starts later still gets it
    try:
        message = late.wait_for(topics.discovery, bool)
    finally:
        late.close()
    assert message.retain and message.qos == 1
    assert topics.discovery == f"{topics.discovery_prefix}/device/zsm_my_home/config"
    payload = json.loads(message.payload)
    check_documented_schema(payload, topics)
    components: dict[str, dict[str, Any]] = payload["components"]
    # every value_template names a key the state carries
    state = _state(probe, bridge)
    for component in components.values():
        field = component["value_template"].removeprefix("{{ value_json.").removesuffix(" }}")
        assert field in state, field
    assert state["soc_pct"] == 64.5 and state["last_command"] == "discharge 312 W"
    assert probe.wait_for(topics.availability).payload == b"online"


def test_mode_command_round_trip_becomes_logged_events_and_a_dated_slot(
    running: tuple[HomeAssistantBridge, Probe], clock: ManualClock
) -> None:
    bridge, probe = running
    topics = bridge.topics
    probe.wait_for(topics.availability, lambda p: p == b"online")
    schedule = Schedule.model_validate({"default": {"mode": "netzero"}})
    probe.publish(topics.mode_command, "discharge")
    events = _exchange_until_events(bridge, schedule)
    request, loaded = events
    assert isinstance(request, OverrideRequested) and isinstance(loaded, ScheduleLoaded)
    assert (request.source, request.mode, request.power_w) == ("home_assistant", "discharge", 600)
    assert request.until == NOW + timedelta(minutes=30)
    new = Schedule.model_validate(loaded.schedule)
    slot = new.slot_at(NOW)
    assert (slot.slot_id, slot.mode, slot.power_w) == (OVERRIDE_ID, Mode.DISCHARGE, 600)
    assert new.slot_at(NOW + timedelta(minutes=31)).mode is Mode.NETZERO
    _state(probe, bridge, override_mode="discharge", override_power_w=600)

    # the power number re-issues the override in force (clamped to the discharge limit of 800 W)
    probe.publish(topics.power_command, "950")
    request2, loaded2 = _exchange_until_events(bridge, new)
    assert isinstance(request2, OverrideRequested) and (request2.power_w, request2.until) == (
        800,
        request.until,
    )
    assert isinstance(loaded2, ScheduleLoaded)
    _state(probe, bridge, override_power_w=950)

    # auto ends it
    probe.publish(topics.mode_command, "auto")
    request3, loaded3 = _exchange_until_events(bridge, Schedule.model_validate(loaded2.schedule))
    assert isinstance(request3, OverrideRequested) and request3.mode == "auto"
    assert isinstance(loaded3, ScheduleLoaded)
    assert Schedule.model_validate(loaded3.schedule).slot_at(NOW).mode is Mode.NETZERO
    _state(probe, bridge, override_mode="auto")


def test_auto_gives_back_the_dated_slot_an_override_had_cut(
    running: tuple[HomeAssistantBridge, Probe],
) -> None:
    bridge, probe = running
    topics = bridge.topics
    probe.wait_for(topics.availability, lambda p: p == b"online")
    evening = {
        "id": "evening",
        "start": "2026-12-04T14:00:00Z",
        "end": "2026-12-04T17:00:00Z",
        "mode": "netzero",
    }
    server = Schedule.model_validate({"default": {"mode": "standby"}, "dated": [evening]})
    arrived = ScheduleLoaded(
        at=NOW, source="server", schedule=server.model_dump(mode="json", exclude_none=True)
    )
    assert bridge.exchange([arrived], schedule=server, lag_s=4.0) == [arrived]  # passed on, no override
    probe.publish(topics.mode_command, "discharge")
    _, loaded = _exchange_until_events(bridge, server)
    cut = Schedule.model_validate(loaded.schedule)
    assert cut.slot_at(NOW).slot_id == OVERRIDE_ID
    probe.publish(topics.mode_command, "auto")
    _, restored = _exchange_until_events(bridge, cut)
    slot = Schedule.model_validate(restored.schedule).slot_at(NOW)
    assert (slot.slot_id, slot.mode) == ("evening", Mode.NETZERO)  # not the default standby


def _exchange_until_events(bridge: HomeAssistantBridge, schedule: Schedule, count: int = 2) -> list[Any]:
    """Call exchange as the daemon's tick does until the command has arrived (bounded)."""
    probe_deadline = 200
    for _ in range(probe_deadline):
        events = bridge.exchange([], schedule=schedule, lag_s=4.0)
        if events:
            assert len(events) == count, events
            return events
        bridge._wake.wait(0.05)  # noqa: SLF001 - a bounded wait for the broker's delivery
    raise AssertionError("the command never reached the bridge")


def test_bad_commands_are_rejected_with_the_state_republished(
    running: tuple[HomeAssistantBridge, Probe],
) -> None:
    bridge, probe = running
    topics = bridge.topics
    probe.wait_for(topics.availability, lambda p: p == b"online")
    schedule = Schedule()
    for topic, payload in [
        (topics.mode_command, "fly"),
        (topics.power_command, "a lot"),
        (topics.power_command, "nan"),
        (topics.power_command, "-5"),
        (topics.power_command, "5000"),
        (topics.mode_command, "x" * 10_000),
    ]:
        mark = len(probe.messages)
        probe.publish(topic, payload)
        probe.wait_for(topic, after=mark)  # the broker has it; the bridge gets it about now
        for _ in range(200):  # the daemon's ticks: nothing comes of it but a fresh state
            assert bridge.exchange([], schedule=schedule, lag_s=None) == []
            if any(m.topic == topics.state for m in probe.messages[mark:]):
                break
            bridge._wake.wait(0.05)  # noqa: SLF001 - a bounded wait for the broker's delivery
        _state(probe, bridge, after=mark, override_mode="auto", override_power_w=600)
    # a good command after all of them still works
    probe.publish(topics.mode_command, "standby")
    request, _loaded = _exchange_until_events(bridge, schedule)
    assert request.mode == "standby"


def test_a_retained_command_is_stale_ignored_and_cleared(clock: ManualClock) -> None:
    host, port = shared_broker()
    bridge = make_bridge(host, port, clock)
    topics = bridge.topics
    probe = Probe(host, port, [f"{topics.base}/#"])
    probe.publish(topics.mode_command, "charge", retain=True)  # left behind before the daemon starts
    bridge.start()
    try:
        probe.wait_for(topics.mode_command, lambda p: p == b"")  # the bridge cleared it
        probe.wait_for(topics.availability, lambda p: p == b"online")
        for _ in range(20):
            assert bridge.exchange([], schedule=None, lag_s=None) == []
    finally:
        bridge.stop()
        for topic in (topics.state, topics.availability, topics.mode_command):
            probe.publish(topic, b"", retain=True)
        probe.close()


def test_reannounces_when_home_assistant_comes_online(running: tuple[HomeAssistantBridge, Probe]) -> None:
    bridge, probe = running
    topics = bridge.topics
    probe.wait_for(topics.discovery, bool)
    probe.publish(topics.discovery, b"", retain=True)  # as if HA lost it (a broker without persistence)
    mark = len(probe.messages)
    probe.publish(topics.ha_status, "online")
    message = probe.wait_for(topics.discovery, bool, after=mark)
    assert json.loads(message.payload)["device"]["identifiers"] == ["zsm_my_home"]
    probe.publish(topics.ha_status, b"", retain=True)


def test_schedule_fetch_keeps_the_override_in_force(running: tuple[HomeAssistantBridge, Probe]) -> None:
    bridge, probe = running
    probe.wait_for(bridge.topics.availability, lambda p: p == b"online")
    probe.publish(bridge.topics.mode_command, "charge")
    _request, loaded = _exchange_until_events(bridge, Schedule())
    current = Schedule.model_validate(loaded.schedule)
    fetched = ScheduleLoaded(
        at=NOW, source="server", schedule={"default": {"mode": "discharge", "power_w": 100}}
    )
    events = bridge.exchange([fetched], schedule=current, lag_s=None)
    assert events[0] is fetched and len(events) == 2
    assert isinstance(events[1], ScheduleLoaded) and events[1].source == "home_assistant"
    merged = Schedule.model_validate(events[1].schedule)
    assert merged.slot_at(NOW).mode is Mode.CHARGE  # the override still holds
    assert merged.slot_at(NOW + timedelta(hours=1)).mode is Mode.DISCHARGE  # then the server's schedule


def test_last_will_and_broker_restart(tmp_path: Path, clock: ManualClock) -> None:
    broker = PrivateBroker(tmp_path)
    broker.start()
    bridge = make_bridge("127.0.0.1", broker.port, clock)
    topics = bridge.topics
    watcher = Probe("127.0.0.1", broker.port, [f"{topics.discovery_prefix}/#", f"{topics.base}/#"])
    try:
        bridge.start()
        watcher.wait_for(topics.discovery, bool)
        watcher.wait_for(topics.availability, lambda p: p == b"online")
        # an unclean loss of the daemon's connection: the broker publishes the last will
        mark = len(watcher.messages)
        sock = bridge.client.socket()
        assert sock is not None
        sock.close()
        watcher.wait_for(topics.availability, lambda p: p == b"offline", after=mark)
        watcher.wait_for(topics.availability, lambda p: p == b"online", after=mark)  # reconnected
        # the broker restarts without persistence: everything retained is gone and the bridge restores it
        watcher.close()
        broker.stop()
        broker.start()
        watcher = Probe("127.0.0.1", broker.port, [f"{topics.discovery_prefix}/#", f"{topics.base}/#"])
        watcher.wait_for(topics.discovery, bool, timeout_s=40)
        watcher.wait_for(topics.availability, lambda p: p == b"online", timeout_s=40)
        watcher.wait_for(topics.state, bool, timeout_s=40)
        # and commands flow again
        watcher.publish(topics.mode_command, "netzero_plus")
        request, _loaded = _exchange_until_events(bridge, Schedule())
        assert request.mode == "netzero_plus"
        # a clean stop says offline itself
        mark = len(watcher.messages)
        bridge.stop()
        watcher.wait_for(topics.availability, lambda p: p == b"offline", after=mark)
    finally:
        bridge.stop()
        watcher.close()
        broker.stop()


def test_meter_readings_handed_over_by_the_tick_feed_the_daily_counters(
    running: tuple[HomeAssistantBridge, Probe], clock: ManualClock
) -> None:
    bridge, probe = running
    probe.wait_for(bridge.topics.availability, lambda p: p == b"online")
    battery = BatteryReading(at=NOW, soc_pct=50, battery_w=400.0)
    for second in range(0, 1801):  # half an hour of 600 W import with 400 W from the battery
        meter = MeterReading(at=NOW + timedelta(seconds=second), grid_w=600.0)
        bridge.exchange([], schedule=None, lag_s=None, meter=meter, battery=battery)
        bridge.exchange([], schedule=None, lag_s=None, meter=meter, battery=battery)  # same reading: once
    probe.publish(bridge.topics.power_command, "100")  # any command makes the bridge re-publish
    for _ in range(200):  # the daemon's ticks until the bridge has taken the command
        bridge.exchange([], schedule=None, lag_s=None)
        if any(b'"override_power_w": 100' in m.payload for m in probe.messages):
            break
        bridge._wake.wait(0.05)  # noqa: SLF001 - a bounded wait for the broker's delivery
    state = _state(probe, bridge, override_power_w=100)
    assert state["imported_kwh"] == pytest.approx(0.3)
    assert state["avoided_kwh"] == pytest.approx(0.2)
    assert state["exported_kwh"] == 0
    assert state["counting_since"] == NOW.isoformat()


def test_a_broker_that_is_down_at_start_costs_the_daemon_nothing(tmp_path: Path, clock: ManualClock) -> None:
    broker = PrivateBroker(tmp_path)  # not started yet
    bridge = make_bridge("127.0.0.1", broker.port, clock)
    topics = bridge.topics
    bridge.start()
    watcher: Probe | None = None
    try:
        meter = MeterReading(at=NOW, grid_w=100.0)
        assert bridge.exchange([], schedule=None, lag_s=None, meter=meter) == []
        assert not bridge.connected
        broker.start()  # the broker comes up later: the bridge connects and announces by itself
        watcher = Probe("127.0.0.1", broker.port, [f"{topics.discovery_prefix}/#", f"{topics.base}/#"])
        watcher.wait_for(topics.discovery, bool, timeout_s=40)
        watcher.wait_for(topics.availability, lambda p: p == b"online", timeout_s=40)
    finally:
        bridge.stop()
        if watcher is not None:
            watcher.close()
        broker.stop()


def test_after_a_restart_inside_an_override_the_select_and_number_show_it(
    running: tuple[HomeAssistantBridge, Probe],
) -> None:
    bridge, probe = running
    probe.wait_for(bridge.topics.availability, lambda p: p == b"online")
    restored = Schedule.model_validate(
        {
            "dated": [
                {
                    "id": OVERRIDE_ID,
                    "start": (NOW - timedelta(minutes=5)).isoformat(),
                    "end": (NOW + timedelta(minutes=25)).isoformat(),
                    "mode": "charge",
                    "power_w": 250,
                }
            ]
        }
    )
    assert bridge.exchange([], schedule=restored, lag_s=None) == []
    state = _state(probe, bridge, override_mode="charge")
    assert state["override_power_w"] == 250
    assert state["override_until"] == (NOW + timedelta(minutes=25)).isoformat()
