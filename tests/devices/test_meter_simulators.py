"""Meter adapters and third-party clients against our simulated meters over real loopback sockets."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
import requests
from dsmr_parser.clients.socket_ import SocketReader
from dsmr_parser.parsers import TelegramParser

from controller.clock import ManualClock
from controller.devices.errors import (
    ApiDisabled,
    DeviceResponseError,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
)
from controller.devices.meters.dsmr import DsmrMeter, SerialSource, TcpSource, specification_for
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.meters.homewizard_v2 import (
    ButtonNotPressed,
    HomeWizardV2Meter,
    HomeWizardV2Push,
    request_token,
)
from controller.devices.meters.json_http import JsonHttpMeter
from controller.devices.meters.shelly import ShellyMeter
from controller.simulation.devices.dsmr_server import DsmrFaults, DsmrServer
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardFaults, HomeWizardV1Server
from controller.simulation.devices.homewizard_v2_server import HomeWizardV2Server
from controller.simulation.devices.http_base import LoopbackHTTPServer
from controller.simulation.devices.telegrams import TelegramRenderer

Start = Callable[[object], object]
VERSION = {"nl5": "5", "nl4": "4", "nl22": "2.2", "be5": "5B"}


def wait_for(condition: Callable[[], bool], timeout_s: float = 3.0) -> None:
    """Short bounded poll on a real loopback server (wall time, at most ``timeout_s``)."""
    event = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not met in time")


# -- HomeWizard v1 -------------------------------------------------------------------------------------
def test_python_homewizard_energy_reads_our_v1_meter(
    make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    from homewizard_energy import HomeWizardEnergy

    home = make_home(load_w=750.0, phase_split=(0.5, 0.3, 0.2))
    clock.advance(5)
    server = started(HomeWizardV1Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV1Server)

    async def read() -> tuple[object, object]:
        async with HomeWizardEnergy(f"127.0.0.1:{server.port}", timeout=5) as api:
            return await api.device(), await api.data()

    device, data = asyncio.run(read())
    assert device.product_type == "HWE-P1" and device.api_version == "v1"  # type: ignore[attr-defined]
    assert data.active_power_w == 750  # type: ignore[attr-defined]
    assert (data.active_power_l1_w, data.active_power_l2_w, data.active_power_l3_w) == (375, 225, 150)  # type: ignore[attr-defined]
    assert data.smr_version == 50  # type: ignore[attr-defined]


def test_v1_adapter_tells_new_data_by_meter_time_and_telegram_has_valid_crc(
    make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    home = make_home(load_w=400.0, lag_s=5.0)
    clock.advance(10)
    server = started(HomeWizardV1Server(home.meter_port, clock, clock_offset_s=-45.0))
    assert isinstance(server, HomeWizardV1Server)
    meter = HomeWizardV1Meter(f"127.0.0.1:{server.port}", clock=clock)
    first = meter.read()
    assert first is not None and first.grid_w == 400 and first.at == clock.now()
    assert first.meter_time == clock.now() - timedelta(seconds=45)  # the meter's clock is 45 s behind
    assert meter.read() is None  # same telegram: a repeat
    clock.advance(1)
    assert meter.read() is not None
    telegram = requests.get(f"{server.url}/api/v1/telegram", timeout=2)
    assert telegram.headers["Content-Type"] == "text/plain"
    TelegramParser(specification_for("5")).parse(telegram.text)  # CRC checked


def test_v1_faults_end_in_typed_errors(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    clock.advance(3)
    server = started(HomeWizardV1Server(home.meter_port, clock, faults=HomeWizardFaults(api_disabled=True)))
    assert isinstance(server, HomeWizardV1Server)
    meter = HomeWizardV1Meter(f"127.0.0.1:{server.port}", clock=clock, timeout_s=0.3)
    with pytest.raises(ApiDisabled):
        meter.read()
    server.faults.api_disabled = False
    server.faults.drop_requests = True
    with pytest.raises(DeviceUnreachable):
        meter.read()
    server.faults.drop_requests = False
    server.faults.latency_s = 0.6
    with pytest.raises(DeviceTimeout):
        meter.read()
    server.faults.latency_s = 0.0
    server.faults.legacy_nulls = True
    assert meter.read() is not None  # recovered; explicit nulls parse
    with pytest.raises(DeviceUnreachable):
        HomeWizardV1Meter("127.0.0.1:9", clock=clock, timeout_s=0.3).read()


# -- HomeWizard v2 -------------------------------------------------------------------------------------
@pytest.fixture
def v2(make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start) -> HomeWizardV2Server:
    home = make_home(load_w=-300.0, phase_split=(1.0, 1.0, 1.0))
    clock.advance(5)
    server = started(HomeWizardV2Server(home.meter_port, clock, clock_offset_s=30.0))
    assert isinstance(server, HomeWizardV2Server)
    return server


def test_v2_pairing_then_measurement(v2: HomeWizardV2Server, clock: ManualClock) -> None:
    address = f"127.0.0.1:{v2.port}"
    with pytest.raises(ButtonNotPressed):
        request_token(address, "zsm", ca_file=v2.ca_file, serial=v2.serial)
    v2.press_button()
    token = request_token(address, "zsm", ca_file=v2.ca_file, serial=v2.serial)
    assert len(token) == 32 and token == token.upper()
    meter = HomeWizardV2Meter(address, clock=clock, token=token, ca_file=v2.ca_file, serial=v2.serial)
    assert meter.device().api_version == "2.0.0"
    reading = meter.read()
    assert reading is not None and reading.grid_w == -300
    assert reading.phases_w == (-100, -100, -100)
    assert reading.meter_time == clock.now() + timedelta(seconds=30)
    assert meter.read() is None
    # Re-pairing the same name invalidates the old token.
    v2.press_button()
    request_token(address, "zsm", ca_file=v2.ca_file, serial=v2.serial)
    with pytest.raises(DeviceUnauthorized):
        meter.read()


def test_v2_refuses_a_bad_token_and_a_wrong_certificate_name(
    v2: HomeWizardV2Server, clock: ManualClock
) -> None:
    address = f"127.0.0.1:{v2.port}"
    with pytest.raises(DeviceUnauthorized):
        HomeWizardV2Meter(address, clock=clock, token="0" * 32, ca_file=v2.ca_file, serial=v2.serial).read()
    v2.tokens["local/x"] = "A" * 32
    wrong = HomeWizardV2Meter(address, clock=clock, token="A" * 32, ca_file=v2.ca_file, serial="000000000000")
    with pytest.raises(DeviceResponseError, match="TLS"):
        wrong.read()
    untrusted = HomeWizardV2Meter(address, clock=clock, token="A" * 32, serial=v2.serial)
    with pytest.raises(DeviceResponseError, match="TLS"):
        untrusted.read()


def test_v2_websocket_push_drains_to_newest(v2: HomeWizardV2Server, clock: ManualClock) -> None:
    v2.tokens["local/zsm"] = "B" * 32
    push = HomeWizardV2Push(
        f"127.0.0.1:{v2.port}", clock=clock, token="B" * 32, ca_file=v2.ca_file, serial=v2.serial, wait_s=2.0
    )
    try:
        first = push.read()
        assert first is not None and first.grid_w == -300
        for _ in range(3):
            clock.advance(1)
            event = threading.Event()
            event.wait(0.25)  # let the server push each new sample
        newest = push.read()
        assert newest is not None and newest.meter_time == clock.now() + timedelta(seconds=30)
    finally:
        push.close()
    bad = HomeWizardV2Push(
        f"127.0.0.1:{v2.port}", clock=clock, token="C" * 32, ca_file=v2.ca_file, serial=v2.serial, wait_s=0.5
    )
    with pytest.raises(DeviceUnauthorized):
        bad.read()


# -- DSMR over TCP ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("profile", ["nl5", "nl4", "nl22", "be5"])
def test_every_emitted_telegram_parses_with_dsmr_parser_and_our_adapter(
    profile: str, make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    period = 10.0 if profile == "nl4" else 1.0
    phases = (1.0,) if profile == "nl4" else (0.5, 0.3, 0.2)
    home = make_home(load_w=900.0, period_s=period, phase_split=phases)
    server = started(DsmrServer(home.meter_port, clock, profile=profile))  # type: ignore[arg-type]
    assert isinstance(server, DsmrServer)
    meter = DsmrMeter(
        TcpSource(f"127.0.0.1:{server.port}"), clock=clock, dsmr_version=VERSION[profile], wait_s=1
    )
    assert meter.read() is None  # nothing sent yet
    wait_for(lambda: server.client_count == 1)
    readings = []
    for _ in range(3):
        clock.advance(period)
        server.pump()
        reading = meter.read()
        if profile == "nl22" and reading is None:
            continue  # no timestamp in DSMR 2.2: unchanged values and counters are a repeat
        assert reading is not None
        readings.append(reading)
    parser = TelegramParser(specification_for(VERSION[profile]), apply_checksum_validation=True)
    for text in server.emitted:
        telegram = parser.parse(text, throw_ex=True)
        assert telegram.CURRENT_ELECTRICITY_USAGE.value * 1000 == 900
    assert readings and all(r.grid_w == 900 for r in readings)
    if profile != "nl22":
        times = [r.meter_time for r in readings]
        assert times == sorted(times) and len(set(times)) == 3
    assert len(server.emitted) >= 3
    meter.close()


def test_dsmr_parser_socket_reader_reads_our_stream(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server = started(DsmrServer(home.meter_port, clock, faults=DsmrFaults(chunk_size=7)))
    assert isinstance(server, DsmrServer)
    got: list[object] = []

    def run() -> None:
        for telegram in SocketReader("127.0.0.1", server.port, specification_for("5")).read():
            got.append(telegram)
            if len(got) >= 3:
                break

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    wait_for(lambda: server.client_count == 1)
    for _ in range(5):
        clock.advance(1)
        server.pump()
        if len(got) >= 3:
            break
        count = len(got)
        wait_for(lambda: len(got) > count or not thread.is_alive(), 2.0)  # noqa: B023
    thread.join(3)
    assert len(got) >= 3


def test_dsmr_stream_faults(
    home: SimulatedHome, clock: ManualClock, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    server = started(DsmrServer(home.meter_port, clock, faults=DsmrFaults(join_mid_stream=True)))
    assert isinstance(server, DsmrServer)
    clock.advance(1)
    server.pump()  # telegrams before anybody listens
    meter = DsmrMeter(TcpSource(f"127.0.0.1:{server.port}"), clock=clock, wait_s=0.3)
    assert meter.read() is None  # connects; half a telegram arrives first and is dropped (resync on '/')
    wait_for(lambda: server.client_count == 1)
    server.faults.corrupt_crc_every = 1
    clock.advance(1)
    server.pump()  # a corrupt CRC
    with pytest.raises(InvalidPayload):
        meter.read()
    server.faults.corrupt_crc_every = 0
    clock.advance(1)
    server.pump()  # good again
    assert meter.read() is not None
    # Truncation and disconnects: a typed error, then a reconnect recovers.
    server.faults = DsmrFaults(truncate_every=1)
    clock.advance(1)
    server.pump()
    assert meter.read() is None  # incomplete telegram: nothing complete yet
    server.faults = DsmrFaults(disconnect_after=1)
    clock.advance(1)
    server.pump()  # sent, then the gateway drops the connection
    assert meter.read() is not None  # what arrived before the close is still used
    wait_for(lambda: server.client_count == 0)
    server.faults = DsmrFaults()
    with caplog.at_level(logging.INFO):
        assert meter.read() is None  # reconnects (logged recovery)
    assert "connected to DSMR gateway" in caplog.text
    wait_for(lambda: server.client_count == 1)
    clock.advance(1)
    server.pump()
    assert meter.read() is not None
    with pytest.raises(DeviceUnreachable):
        DsmrMeter(TcpSource("127.0.0.1:9"), clock=clock).read()


def test_dsmr_backlog_is_drained_to_the_newest(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server = started(DsmrServer(home.meter_port, clock, faults=DsmrFaults(backlog=20)))
    assert isinstance(server, DsmrServer)
    for _ in range(20):
        clock.advance(1)
        server.pump()
    meter = DsmrMeter(TcpSource(f"127.0.0.1:{server.port}"), clock=clock, wait_s=0.3)
    reading = meter.read()
    assert reading is not None and reading.meter_time == clock.now()
    assert meter.skipped == 19


def test_dsmr_clock_offset_and_factory_date(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server = started(DsmrServer(home.meter_port, clock, clock_offset_s=-60, factory_date=False))
    assert isinstance(server, DsmrServer)
    meter = DsmrMeter(TcpSource(f"127.0.0.1:{server.port}"), clock=clock, wait_s=0.3)
    meter.read()
    wait_for(lambda: server.client_count == 1)
    clock.advance(1)
    server.pump()
    reading = meter.read()
    assert reading is not None and reading.meter_time == clock.now() - timedelta(seconds=60)
    factory = TelegramRenderer("nl5", factory_date=True).render(home.meter_port.reading_at(clock.now()))  # type: ignore[arg-type]
    assert "0-0:1.0.0(000101010000W)" in factory
    parsed = TelegramParser(specification_for("5")).parse(factory)
    assert parsed.P1_MESSAGE_TIMESTAMP.value.year == 2000


def test_dsmr_over_a_serial_port(home: SimulatedHome, clock: ManualClock) -> None:
    master, slave = os.openpty()
    try:
        source = SerialSource(os.ttyname(slave), dsmr_version="5")
        meter = DsmrMeter(source, clock=clock, wait_s=0.5)
        assert meter.read() is None  # opens the port (raw line settings), nothing sent yet
        clock.advance(1)
        sample = home.meter_port.reading_at(clock.now())
        assert sample is not None
        renderer = TelegramRenderer("nl5")
        os.write(master, renderer.render(sample).encode())
        reading = meter.read()
        assert reading is not None and reading.grid_w == 600
        meter.close()
    finally:
        os.close(master)
        os.close(slave)
    with pytest.raises(DeviceUnreachable):
        DsmrMeter(SerialSource("/dev/nonexistent-p1"), clock=clock).read()


# -- Shelly and generic JSON -----------------------------------------------------------------------------
def test_shelly_and_json_http_meters(clock: ManualClock, started: Start) -> None:
    status = {
        "id": 0,
        "a_act_power": 100.5,
        "b_act_power": -50.0,
        "c_act_power": 20.0,
        "total_act_power": 70.5,
    }

    def handler(method: str, target: str, headers: dict[str, str], body: bytes) -> tuple[int, str, bytes]:
        if target.startswith("/rpc/EM.GetStatus"):
            return 200, "application/json", json.dumps(status).encode()
        if target.startswith("/rpc/EMData.GetStatus"):
            return (
                200,
                "application/json",
                json.dumps({"total_act": 12345.6, "total_act_ret": 789.0}).encode(),
            )
        if target.startswith("/rpc/EM1.GetStatus"):
            return 200, "application/json", json.dumps({"id": 0, "act_power": -230.0}).encode()
        if target.startswith("/custom"):
            return 200, "application/json", json.dumps({"data": [{"p": 0.5}, {"p": 1.25}]}).encode()
        return 404, "application/json", b"{}"

    server = started(LoopbackHTTPServer(handler))
    assert isinstance(server, LoopbackHTTPServer)
    pro = ShellyMeter(f"127.0.0.1:{server.port}", clock=clock)
    reading = pro.read()
    assert reading is not None
    assert (reading.grid_w, reading.phases_w) == (70.5, (100.5, -50.0, 20.0))
    assert (reading.import_kwh, reading.export_kwh) == (pytest.approx(12.3456), pytest.approx(0.789))
    assert pro.read() is None  # unchanged values: a repeat
    em1 = ShellyMeter(f"127.0.0.1:{server.port}", clock=clock, variant="em1")
    one = em1.read()
    assert one is not None and one.grid_w == -230.0 and one.import_kwh is None  # no EM1Data: power only
    generic = JsonHttpMeter(f"{server.url}/custom", "data/[1]/p", clock=clock, unit="kW", sign=-1)
    value = generic.read()
    assert value is not None and value.grid_w == -1250.0
    with pytest.raises(InvalidPayload):
        JsonHttpMeter(f"{server.url}/custom", "data/[5]/p", clock=clock).read()
    with pytest.raises(DeviceResponseError):
        JsonHttpMeter(f"{server.url}/missing", "x", clock=clock).read()


def test_meter_times_are_aware_utc(v2: HomeWizardV2Server, clock: ManualClock) -> None:
    v2.tokens["local/t"] = "D" * 32
    reading = HomeWizardV2Meter(
        f"127.0.0.1:{v2.port}", clock=clock, token="D" * 32, ca_file=v2.ca_file, serial=v2.serial
    ).reading()
    assert reading.meter_time is not None and reading.meter_time.utcoffset() == timedelta(0)
    assert reading.at.tzinfo is not None
    assert isinstance(reading.meter_time, datetime) and reading.meter_time.tzinfo is not None
    assert reading.meter_time.astimezone(UTC) == reading.meter_time
