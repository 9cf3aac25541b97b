"""The legacy MQTT adapter against the simulated device through a real Mosquitto broker.

The shared broker is 127.0.0.1:1883 (skipped when unreachable); the restart test starts its own mosquitto
on a free loopback port. Time is a :class:`ManualClock`; waiting for the broker is a bounded poll.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.daemon.pollers import SourcePoller
from controller.devices.errors import DeviceTimeout
from controller.devices.zendure_mqtt_client import ZendureMqttBattery
from controller.devices.zendure_mqtt_connection import BrokerAddress
from controller.devices.zendure_mqtt_protocol import MODELS
from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandNotApplied, CommandResult, SourceStale
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.mosquitto import PrivateMosquitto, broker_listening, mosquitto_binary
from controller.simulation.devices.zendure_mqtt_device import (
    LegacyMqttDevice,
    ReceivedMessage,
    plant_params_for,
)
from controller.simulation.plant import BatteryPlant, MeterParams, MeterPlant
from tests.devices.conftest import flat_household

SHARED = BrokerAddress("127.0.0.1", 1883)


def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Bounded poll of a real peer (the broker and paho's network threads)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def shared_broker() -> BrokerAddress:
    if not broker_listening(SHARED.host, SHARED.port):
        pytest.skip("Mosquitto not reachable at 127.0.0.1:1883 (.ci/run starts it where installed)")
    return SHARED


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    broker = PrivateMosquitto(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Rig:
    """A simulated legacy device and the adapter on one broker and one manual clock."""

    def __init__(self, broker: BrokerAddress, clock: ManualClock, model: str, **client_args: float) -> None:
        self.clock = clock
        self.home = SimulatedHome(
            flat_household(600.0),
            BatteryPlant(plant_params_for(model, initial_soc_pct=60.0)),
            MeterPlant(MeterParams()),
            clock,
        )
        key = uuid.uuid4().hex[:8]  # a device key per test: parallel runs share the broker
        self.device = LegacyMqttDevice(self.home.battery_port, clock, broker, model, device_key=key)
        self.client = ZendureMqttBattery(
            broker,
            product_key=self.device.topics.product_key,
            device_key=key,
            model=MODELS[model],
            clock=clock,
            **client_args,  # type: ignore[arg-type]
        )
        self.device.start(background=False)
        wait_for(lambda: self.device.connected, what="the device to subscribe")  # before the first getAll
        self.client.start()
        wait_for(lambda: self.device.connected and self.client.connected, what="both to connect")

    def report(self) -> None:
        """Let the device publish a report now and wait until the adapter has every report sent so far."""
        assert self.device.step()
        wait_for(lambda: self.client.state.reports >= self.device.reports_sent, what="the reports")

    def invokes(self) -> list[dict[str, object]]:
        return [m.body for m in self.device.received if m.topic.endswith("/function/invoke")]

    def close(self) -> None:
        self.client.close()
        self.device.stop()


@pytest.fixture
def rig_factory(clock: ManualClock) -> Iterator[Callable[..., Rig]]:
    rigs: list[Rig] = []

    def build(broker: BrokerAddress, model: str = "hyper2000", **client_args: float) -> Rig:
        rigs.append(Rig(broker, clock, model, **client_args))
        return rigs[-1]

    yield build
    for rig in rigs:
        rig.close()


def test_reads_and_drives_a_hyper_over_the_broker(
    shared_broker: BrokerAddress, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(shared_broker)
    rig.report()
    events = rig.client.poll()  # also asks for getAll: a full report with packData follows
    reading = events[-1]
    assert isinstance(reading, BatteryReading)
    assert (reading.soc_pct, reading.battery_w, reading.max_charge_w, reading.max_discharge_w) == (
        60,
        0,
        1200,
        1200,
    )
    assert reading.temperature_c == 25.0  # hyperTmp 2981 (0.1 K)
    wait_for(lambda: bool(rig.client.state.packs), what="the getAll dump")
    reads = [m for m in rig.device.received if m.topic.endswith("/properties/read")]
    assert reads and reads[0].body["properties"] == ["getAll"]

    outcome = rig.client.apply(Command.discharge(300))
    assert outcome.accepted and isinstance(outcome.events[0], CommandResult) and outcome.events[0].ok
    wait_for(lambda: bool(rig.invokes()), what="the command on the wire")
    sent = rig.device.received[-1]
    assert sent.topic == f"iot/{rig.device.topics.product_key}/{rig.device.topics.device_key}/function/invoke"
    assert sent.body["deviceKey"] == rig.device.topics.device_key and "messageId" in sent.body
    assert sent.body["arguments"] == [
        {
            "autoModelProgram": 2,
            "autoModelValue": {"chargingType": 0, "chargingPower": 0, "freq": 0, "outPower": 300},
            "msgType": 1,
            "autoModel": 8,
        }
    ]
    rig.clock.advance(10)  # dead time and ramp of the plant
    rig.report()
    assert rig.client.read().battery_w == 300

    rig.client.apply(Command.charge(500))
    wait_for(lambda: len(rig.invokes()) == 2, what="the charge command")
    rig.clock.advance(10)
    rig.report()
    reading = rig.client.read()
    assert (reading.battery_w, reading.ac_mode) == (-500, 1)
    assert rig.device.ignored == []


def test_hub_changes_are_paced_to_what_the_firmware_takes(
    shared_broker: BrokerAddress, rig_factory: Callable[..., Rig]
) -> None:
    naive = rig_factory(shared_broker, "hub1200", command_interval_s=0.0)
    naive.report()
    naive.client.apply(Command.discharge(300))
    wait_for(lambda: len(naive.invokes()) == 1, what="the first command")
    naive.clock.advance(5)
    naive.client.apply(Command.discharge(600))
    wait_for(lambda: len(naive.invokes()) == 2, what="two commands")
    assert naive.device.ignored == ["deviceAutomation discharge: change within 30 s of the last one"]

    paced = rig_factory(shared_broker, "hub1200")  # model default: 30 s
    paced.report()
    paced.client.apply(Command.discharge(300))
    wait_for(lambda: len(paced.invokes()) == 1, what="the first command")  # before the clock moves on
    paced.clock.advance(5)
    held = paced.client.apply(Command.discharge(600))
    assert held.accepted and held.sent is None and held.events == ()
    paced.clock.advance(26)
    paced.report()
    events = paced.client.poll()
    assert any(isinstance(e, CommandResult) and e.command == Command.discharge(600) for e in events)
    wait_for(lambda: len(paced.invokes()) == 2, what="the held command")
    assert paced.invokes()[-1]["arguments"][0]["autoModelValue"] == 600  # type: ignore[index]
    assert paced.device.ignored == []
    # below 100 W only 30 W steps; standby is never held back
    paced.client.apply(Command.discharge(70))
    assert paced.client.apply(Command.standby()).sent is not None
    wait_for(lambda: len(paced.invokes()) == 3, what="standby")
    assert paced.invokes()[-1]["arguments"][0]["autoModelProgram"] == 0  # type: ignore[index]


def test_a_device_that_stops_reporting_goes_stale(
    shared_broker: BrokerAddress, rig_factory: Callable[..., Rig], clock: ManualClock
) -> None:
    rig = rig_factory(shared_broker, stale_s=30.0)
    rig.report()
    poller = SourcePoller("battery", rig.client.poll, clock, interval_s=5.0)
    assert isinstance(poller.poll()[-1], BatteryReading)
    rig.device.silent = True
    clock.advance(31)
    rig.device.step()  # silent: publishes nothing
    with pytest.raises(DeviceTimeout, match="no report from"):
        rig.client.read()
    stale = poller.poll()
    assert len(stale) == 1 and isinstance(stale[0], SourceStale)
    rig.device.silent = False
    rig.report()
    clock.advance(60)
    rig.report()
    assert [e.kind for e in poller.poll()] == ["source_recovered", "battery_reading"]


def test_broker_restart_keeps_control(own_broker: PrivateMosquitto, rig_factory: Callable[..., Rig]) -> None:
    rig = rig_factory(BrokerAddress("127.0.0.1", own_broker.port))
    rig.report()
    rig.client.apply(Command.discharge(200))
    wait_for(lambda: len(rig.invokes()) == 1, what="the first command")

    own_broker.stop()
    wait_for(lambda: not rig.client.connected and not rig.device.connected, what="the disconnect")
    rig.clock.advance(15)
    lost = rig.client.apply(Command.discharge(400))
    assert not lost.accepted
    assert isinstance(lost.events[0], CommandResult) and "not connected" in (lost.events[0].error or "")

    own_broker.start()
    wait_for(lambda: rig.client.connected and rig.device.connected, timeout_s=40, what="both to reconnect")
    assert rig.client.connects == 2
    rig.report()
    events = rig.client.poll()  # re-sends the command still wanted
    assert any(isinstance(e, CommandResult) and e.ok and e.command == Command.discharge(400) for e in events)
    wait_for(lambda: len(rig.invokes()) == 2, what="the re-sent command")
    rig.clock.advance(10)
    rig.report()
    assert rig.client.read().battery_w == 400


def test_ace_is_driven_by_acknowledged_property_writes(
    shared_broker: BrokerAddress, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(shared_broker, "ace1500")

    def writes() -> list[ReceivedMessage]:
        return [m for m in rig.device.received if m.topic.endswith("/properties/write")]

    rig.device.props["autoModel"] = 8  # left in smart mode by the app: bare outputLimit writes are ignored
    rig.report()
    rig.client.apply(Command.charge(420))
    wait_for(lambda: bool(writes()), what="the write")
    write = writes()[-1]
    assert (
        write.topic.endswith("/properties/write") and write.body["deviceId"] == rig.device.topics.device_key
    )
    assert write.body["properties"] == {"autoModel": 0, "acMode": 1, "inputLimit": 400, "outputLimit": 0}
    wait_for(lambda: rig.client.state.properties.get("inputLimit") == 400, what="the acknowledgement")
    rig.clock.advance(31)
    rig.report()
    assert rig.client.read().battery_w == -400
    rig.client.apply(Command.discharge(300))
    wait_for(lambda: len(writes()) == 2, what="the second write")
    rig.clock.advance(10)
    rig.report()
    assert rig.client.read().battery_w == 300
    assert rig.device.ignored == []


def test_commands_follow_the_product_key_the_device_reports(
    shared_broker: BrokerAddress, clock: ManualClock
) -> None:
    """Hyper 2000 firmware moved from ja72U0ha to gDa3tb: the device key identifies a device."""
    home = SimulatedHome(
        flat_household(), BatteryPlant(plant_params_for("hyper2000")), MeterPlant(MeterParams()), clock
    )
    key = uuid.uuid4().hex[:8]
    device = LegacyMqttDevice(
        home.battery_port, clock, shared_broker, "hyper2000", product_key="gDa3tb", device_key=key
    )
    client = ZendureMqttBattery(
        shared_broker, product_key="ja72U0ha", device_key=key, model=MODELS["hyper2000"], clock=clock
    )
    device.start(background=False)
    wait_for(lambda: device.connected, what="the device to subscribe")  # before the first getAll
    client.start()
    try:
        wait_for(lambda: device.connected and client.connected, what="both to connect")
        device.step()
        wait_for(lambda: client.state.reports > 0, what="a report under the new product key")
        assert client.topics.product_key == "gDa3tb"
        client.apply(Command.discharge(250))
        wait_for(
            lambda: any(m.topic.endswith("/function/invoke") for m in device.received), what="the command"
        )
    finally:
        client.close()
        device.stop()


def test_an_acknowledged_but_ignored_write_is_logged_and_resent_after_the_pacing(
    shared_broker: BrokerAddress, rig_factory: Callable[..., Rig]
) -> None:
    rig = rig_factory(shared_broker, "ace1500")

    def writes() -> int:
        return sum(m.topic.endswith("/properties/write") for m in rig.device.received)

    rig.report()
    rig.device.ignore_writes = 1
    assert rig.client.apply(Command.charge(400)).accepted
    wait_for(lambda: writes() == 1, what="the write")
    events = []
    for _ in range(3):  # Zendure's own client reads several times before it gives up on a write
        rig.clock.advance(5)
        rig.report()
        events += rig.client.poll()
    not_applied = [e for e in events if isinstance(e, CommandNotApplied)]
    assert len(not_applied) == 1 and "inputLimit=0 (wrote 400)" in not_applied[0].detail
    assert writes() == 1, "the re-send waits for the 30 s pacing"
    rig.clock.advance(16)
    rig.report()
    events = rig.client.poll()
    assert any(isinstance(e, CommandResult) and e.ok and e.command == Command.charge(400) for e in events)
    wait_for(lambda: writes() == 2, what="the re-sent write")
    rig.clock.advance(10)
    rig.report()
    assert rig.client.read().battery_w == -400
    assert rig.device.ignored == ["properties/write acknowledged but not applied"]
    for _ in range(4):
        rig.clock.advance(5)
        rig.report()
        assert not any(isinstance(e, CommandNotApplied) for e in rig.client.poll())
