"""The control loop with a legacy device over real Mosquitto: NetZero regulates, a device that stops
reporting makes the battery stale and the loop commands standby (on the wire), and control resumes."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.daemon.control_loop import ControlLoop
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.zendure_mqtt_client import ZendureMqttBattery
from controller.devices.zendure_mqtt_connection import BrokerAddress
from controller.devices.zendure_mqtt_protocol import MODELS
from controller.domain.commands import CommandKind
from controller.domain.events import ScheduleLoaded, StateChanged
from controller.domain.machine import ControllerCore
from controller.domain.regulator import ZsmRegulator
from controller.settings import LimitSettings, RegulationSettings
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.mosquitto import broker_listening
from controller.simulation.devices.zendure_mqtt_device import LegacyMqttDevice, plant_params_for
from controller.simulation.plant import BatteryPlant, MeterParams, MeterPlant
from storage.event_log import EventLog
from tests.daemon.conftest import START, flat_household

BROKER = BrokerAddress("127.0.0.1", 1883)
NETZERO_HALF_HOUR = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "recurring": [],
    "dated": [
        {
            "id": "nz",
            "start": START.isoformat(),
            "end": (START + timedelta(minutes=30)).isoformat(),
            "mode": "netzero",
        }
    ],
}


def wait_for(condition: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """Bounded poll of the broker round trip."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.005)


class MqttSite:
    def __init__(self) -> None:
        self.clock = ManualClock(START)
        self.home = SimulatedHome(
            flat_household(450.0),
            BatteryPlant(plant_params_for("hyper2000", initial_soc_pct=60.0)),
            MeterPlant(MeterParams(lag_s=5.0)),
            self.clock,
            origin=START,
        )
        self.meter = HomeWizardV1Server(self.home.meter_port, self.clock)
        key = uuid.uuid4().hex[:8]
        self.device = LegacyMqttDevice(
            self.home.battery_port, self.clock, BROKER, "hyper2000", device_key=key
        )
        self.battery = ZendureMqttBattery(
            BROKER,
            product_key=self.device.topics.product_key,
            device_key=key,
            model=MODELS["hyper2000"],
            clock=self.clock,
        )

    def start(self) -> None:
        self.meter.start()
        self.device.start(background=False)
        # the device must be subscribed before the adapter's first getAll, or that read is lost and the
        # published/received count below never matches
        wait_for(lambda: self.device.connected, "the device to subscribe")
        self.battery.start()
        wait_for(lambda: self.device.connected and self.battery.connected, "both to connect")

    def stop(self) -> None:
        self.battery.close()
        self.device.stop()
        self.meter.stop()

    def step(self) -> None:
        """One second of device firmware, with its report (if any) delivered before the loop reads."""
        if self.device.step():
            wait_for(lambda: self.battery.state.reports >= self.device.reports_sent, "the reports")

    def delivered(self) -> None:
        wait_for(lambda: len(self.device.received) >= self.battery.published, "the commands")
        # a report the adapter takes in late would count as fresh at a later virtual second: wait for it
        wait_for(lambda: self.battery.reports_received >= self.device.reports_sent, "the reports")


@pytest.fixture
def mqtt_site() -> Iterator[MqttSite]:
    if not broker_listening(BROKER.host, BROKER.port):
        pytest.skip("Mosquitto not reachable at 127.0.0.1:1883 (.ci/run starts it where installed)")
    site = MqttSite()
    site.start()
    try:
        yield site
    finally:
        site.stop()


def run(loop: ControlLoop, site: MqttSite, seconds: int, extra: list[object] | None = None) -> None:
    site.step()
    loop.tick(extra or [])  # type: ignore[arg-type]
    site.delivered()
    for _ in range(seconds):
        site.clock.advance(1)
        site.step()
        loop.tick()
        site.delivered()


@pytest.mark.slow  # six virtual minutes, each second a broker round trip
def test_silent_device_goes_stale_then_standby_and_control_resumes(
    mqtt_site: MqttSite, tmp_path: Path
) -> None:
    regulation = RegulationSettings(lag_s=5.0)
    core = ControllerCore(
        LimitSettings().domain(),
        ZsmRegulator(regulation.domain()),
    )
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = ControlLoop(
        core=core,
        log=log,
        clock=mqtt_site.clock,
        battery=mqtt_site.battery,
        meter=HomeWizardV1Meter(mqtt_site.meter.url.removeprefix("http://"), clock=mqtt_site.clock),
        battery_interval_s=5,
        meter_interval_s=1,
    )
    run(loop, mqtt_site, 180, [ScheduleLoaded(at=START, source="test", schedule=NETZERO_HALF_HOUR)])
    assert loop.core.state == "NetZero"
    assert mqtt_site.home.battery.battery_w > 300, "the Hyper covers the 450 W load"

    mqtt_site.device.silent = True
    # the last report goes stale after stale_s = 30 s, seen at the next battery read (every 5 s); on a loaded
    # machine the broker delivers the reports sent just before the silence a little late, which moves that
    # moment: wait for it, bounded, instead of assuming it lies within a fixed minute
    waited = 0
    while loop.core.state != "Standby" and waited < 120:
        run(loop, mqtt_site, 5)
        waited += 5
    assert loop.core.state == "Standby", "silent for two minutes and still regulating"
    assert 30 <= waited <= 90, waited
    off = [m.body for m in mqtt_site.device.received if m.topic.endswith("/function/invoke")][-1]
    assert off["arguments"][0]["autoModelProgram"] == 0
    # when the silence is noticed varies by a few seconds (the poller's read timeout against the tick):
    # give the device its dead time and ramp after the off command before looking at its output
    run(loop, mqtt_site, 10)
    assert loop.core.state == "Standby"
    assert abs(mqtt_site.home.battery.battery_w) < 1, "the battery stopped"

    mqtt_site.device.silent = False
    run(loop, mqtt_site, 120)
    assert loop.core.state == "NetZero"
    assert loop.core.last_command is not None and loop.core.last_command.kind is CommandKind.DISCHARGE
    kinds = [s.kind for s in log.iter_events()]
    assert kinds.count("source_stale") == 1 and kinds.count("source_recovered") == 1
    states = [s.event.to_state for s in log.iter_events() if isinstance(s.event, StateChanged)]
    assert states[-2:] == ["Standby", "NetZero"]
    assert mqtt_site.device.ignored == []
    log.close()
