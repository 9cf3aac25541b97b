"""The device faults of issue 14 §3, each on the upstream payload that showed it (fixtures: their source)."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from dsmr_parser.parsers import TelegramParser

from controller.cli.discover import config_values
from controller.clock import ManualClock
from controller.devices import discovery
from controller.devices.discovery import DiscoveredDevice, candidate_from_info, is_grid_meter
from controller.devices.errors import InvalidPayload
from controller.devices.factory import build_meter
from controller.devices.meters.dsmr import DsmrMeter, TcpSource, specification_for, telegram_to_reading
from controller.devices.meters.homewizard_v1 import (
    HomeWizardV1Meter,
    telegram_reading,
    telegram_time,
    telegram_values,
)
from controller.devices.meters.homewizard_v2 import HOMEWIZARD_CA, HomeWizardV2Meter
from controller.devices.meters.shelly import ShellyMeter, gen1_reading
from controller.devices.meters.zendure_3ct import SmartMeter3CT, SmartMeter3CTReport
from controller.settings import load_settings
from controller.simulation.devices.dsmr_server import DsmrServer
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.homewizard_v2_server import HomeWizardV2Server
from controller.simulation.devices.shelly_server import ShellyServer, SmartMeter3CTServer
from controller.simulation.devices.zendure_server import ZendureServer
from tests.devices.conftest import START, fixture_text

Start = Callable[[object], object]
KEY = "000102030405060708090A0B0C0D0E0F"


def parsed(name: str, version: str) -> Any:
    return TelegramParser(specification_for(version)).parse(fixture_text("dsmr", name))


# -- DSMR ------------------------------------------------------------------------------------------------
def test_dsmr_power_in_watts_is_not_multiplied_by_1000() -> None:
    """EasyMeter Q3D sends ``1-0:1.7.0*255(001688.21*W)``: 1688.21 W, not 1,688,210 W."""
    reading = telegram_to_reading(parsed("easymeter_q3d.txt", "Q3D"), START)
    assert reading.grid_w == pytest.approx(1688.21)
    assert reading.phases_w == pytest.approx((557.29, 521.62, 609.30))
    assert reading.import_kwh == pytest.approx(32549.5061662)


def test_dsmr_sagemcom_t210d_watts_and_watt_hours() -> None:
    """Sagemcom T210-D (Austria): ``(000000286*W)`` is 286 W and ``(006545766*Wh)`` is 6545.766 kWh."""
    reading = telegram_to_reading(parsed("sagemcom_t210d.txt", "T210D"), START)
    assert reading.grid_w == pytest.approx(286.0)
    assert reading.import_kwh == pytest.approx(6545.766)
    assert reading.export_kwh == pytest.approx(0.058)
    assert reading.meter_time == datetime(2022, 10, 6, 13, 50, 14, tzinfo=UTC)


def test_dsmr_kilowatts_still_scale() -> None:
    reading = telegram_to_reading(parsed("eon_hungary_v5.txt", "HU"), START)
    assert reading.grid_w == pytest.approx(-2601.0)  # 1.7.0 00.000 kW, 2.7.0 02.601 kW


def test_dsmr_telegram_without_power_line_is_invalid_not_zero() -> None:
    """A garbled 1.7.0 line in a DSMR 2.2 telegram (no CRC to catch it) leaves only 2.7.0 (0 kW)."""
    garbled = fixture_text("dsmr", "v2_2.txt").replace("1-0:1.7.0(0001.01*kW)", "1-0:1.7.0(0001.0#*kW)")
    telegram = TelegramParser(specification_for("2.2")).parse(garbled)
    with pytest.raises(InvalidPayload, match="1.7.0"):
        telegram_to_reading(telegram, START)


class _Stream:
    """A real loopback TCP peer that writes what a test gives it (a ser2net gateway in one function)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._peer: socket.socket | None = None
        self._accepted = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        self._peer, _ = self._listener.accept()
        self._accepted.set()

    def send(self, data: bytes) -> None:
        assert self._accepted.wait(5)
        assert self._peer is not None
        self._peer.sendall(data)

    def close(self) -> None:
        if self._peer is not None:
            self._peer.close()
        self._listener.close()


@pytest.fixture
def stream() -> Iterator[_Stream]:
    peer = _Stream()
    yield peer
    peer.close()


def test_dsmr_parser_value_error_is_an_invalid_payload_not_a_failed_tick(
    clock: ManualClock, stream: _Stream
) -> None:
    """The E.ON Hungary telegram read with the Belgian spec makes dsmr_parser raise a bare ValueError."""
    meter = DsmrMeter(TcpSource(f"127.0.0.1:{stream.port}"), clock=clock, dsmr_version="5B", wait_s=0.5)
    assert meter.read() is None  # connects
    stream.send(fixture_text("dsmr", "eon_hungary_v5.txt").encode())
    with pytest.raises(InvalidPayload, match="230701000000S"):
        meter.read()
    assert meter.invalid == 1
    right = DsmrMeter(TcpSource(f"127.0.0.1:{stream.port}"), clock=clock, dsmr_version="HU")
    assert right._parse(fixture_text("dsmr", "eon_hungary_v5.txt")) is not None  # noqa: SLF001


@pytest.mark.parametrize(("version", "auth"), [("5L", None), ("T210D", None), ("T210D", "0F" * 16)])
def test_encrypted_p1_is_decrypted_with_the_users_key(
    home: SimulatedHome, clock: ManualClock, started: Start, version: str, auth: str | None
) -> None:
    """Luxembourg Smarty (public authentication key in the spec) and Austria (key only, or key + AK)."""
    server = DsmrServer(home.meter_port, clock, encryption_key=KEY)
    if version == "T210D":
        server.authentication_key = auth or "00" * 16
    started(server)
    meter = DsmrMeter(
        TcpSource(f"127.0.0.1:{server.port}"),
        clock=clock,
        dsmr_version=version,
        wait_s=0.5,
        encryption_key=KEY,
        authentication_key=auth,
    )
    assert meter.read() is None  # connects
    _wait_for(lambda: server.client_count == 1)
    clock.advance(2)
    server.pump()
    reading = meter.read()
    assert reading is not None
    sample = home.meter_port.reading_at(clock.now())
    assert sample is not None and reading.grid_w == pytest.approx(sample.grid_w, abs=1.0)
    wrong = DsmrMeter(
        TcpSource(f"127.0.0.1:{server.port}"),
        clock=clock,
        dsmr_version=version,
        wait_s=0.5,
        encryption_key="F" * 32,
        authentication_key=auth,
    )
    assert wrong.read() is None
    _wait_for(lambda: server.client_count == 2)
    clock.advance(2)
    server.pump()
    with pytest.raises(InvalidPayload, match="decrypt"):
        wrong.read()


def _wait_for(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """A bounded poll on a real loopback server (wall time, at most ``timeout_s``)."""
    event = threading.Event()
    for _ in range(int(timeout_s / 0.01)):
        if condition():
            return
        event.wait(0.01)
    raise AssertionError("condition not met in time")


def test_dsmr_key_settings_reach_the_adapter(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="32 hex"):
        DsmrMeter(TcpSource("127.0.0.1:1"), clock=ManualClock(START), encryption_key="nothex")
    config = tmp_path / "zsm.toml"
    config.write_text(
        f'[meter]\nkind = "dsmr_tcp"\nhost = "127.0.0.1"\ndsmr_version = "5L"\ndsmr_key = "{KEY}"\n'
    )
    meter = build_meter(load_settings(config), ManualClock(START))
    assert isinstance(meter, DsmrMeter) and meter._keys == (KEY, "")  # noqa: SLF001


# -- discovery -------------------------------------------------------------------------------------------
def _device(kind: str, product: str, serial: str, host: str = "127.0.0.1") -> DiscoveredDevice:
    return DiscoveredDevice(kind, host, 80, serial, product, f"{product}-{serial}")  # type: ignore[arg-type]


def test_discovery_writes_only_a_p1_meter_as_grid_meter() -> None:
    """An Energy Socket advertised first on ``_hwenergy._tcp`` was written as the grid meter."""
    socket_first = [
        _device("homewizard_v1", "HWE-SKT", "3c39e7000001", "10.0.0.5"),
        _device("homewizard_v1", "HWE-KWH1", "3c39e7000002", "10.0.0.6"),
        _device("homewizard_v1", "HWE-P1", "3c39e7000003", "10.0.0.7"),
    ]
    meter = config_values(socket_first)["meter"]
    assert (meter["host"], meter["serial"]) == ("10.0.0.7", "3c39e7000003")
    assert "meter" not in config_values(socket_first[:2])  # no P1 meter: nothing written
    opted = config_values(socket_first[:2], allow_kwh_meter=True)["meter"]
    assert opted["serial"] == "3c39e7000002"  # the kWh meter, never the socket
    assert not is_grid_meter("homewizard_v1", "HWE-SKT", allow_kwh_meter=True)


def test_discovery_uses_the_txt_product_type_and_serial() -> None:
    from zeroconf import ServiceInfo

    info = ServiceInfo(
        "_homewizard._tcp.local.",
        "energysocket-000001._homewizard._tcp.local.",
        port=443,
        addresses=[socket.inet_aton("127.0.0.1")],
        properties={"product_type": "HWE-SKT", "serial": "3c39e7000001", "api_version": "2.0.0"},
    )
    candidate = candidate_from_info(info)
    assert candidate is not None and candidate.product_hint == "HWE-SKT"
    assert candidate.serial_hint == "3c39e7000001"


def test_find_address_skips_an_energy_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    found = [
        _device("homewizard_v1", "HWE-SKT", "3c39e7000001", "10.0.0.5"),
        _device("homewizard_v1", "HWE-P1", "3c39e7000003", "10.0.0.7"),
    ]
    monkeypatch.setattr(discovery, "discover", lambda **_: found)
    assert discovery.find_address("homewizard_v1", clock=ManualClock(START)) == ("10.0.0.7", 80)


def test_shelly_is_discovered_and_confirmed(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    from zeroconf import ServiceInfo

    clock.advance(2)
    shelly = started(ShellyServer(home.meter_port, clock, model="pro3em"))
    assert isinstance(shelly, ShellyServer)
    info = ServiceInfo(
        "_shelly._tcp.local.",
        "shellypro3em-a8032abe54dc._shelly._tcp.local.",
        port=shelly.port,
        addresses=[socket.inet_aton("127.0.0.1")],
        properties={"gen": "2", "app": "Pro3EM", "ver": "1.4.4"},
    )
    candidate = candidate_from_info(info)
    assert candidate is not None and candidate.kind == "shelly"
    device = discovery.confirm(candidate, clock=clock)
    assert device is not None and (device.product, device.serial) == ("Pro3EM", "a8032abe54dc")
    meter = config_values([device])["meter"]
    assert (meter["kind"], meter["shelly_variant"], meter["port"]) == ("shelly", "pro3em", shelly.port)


# -- HomeWizard v2 TLS -----------------------------------------------------------------------------------
@pytest.fixture
def v2(home: SimulatedHome, clock: ManualClock, started: Start) -> HomeWizardV2Server:
    clock.advance(5)
    server = started(HomeWizardV2Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV2Server)
    return server


def test_the_shipped_homewizard_ca_and_the_simulators_ca_are_x509_v1(v2: HomeWizardV2Server) -> None:
    shipped = x509.load_pem_x509_certificate(HOMEWIZARD_CA.read_bytes())
    assert shipped.version is x509.Version.v1
    assert "Appliance Access CA" in shipped.subject.rfc4514_string()
    simulated = x509.load_pem_x509_certificate(v2.ca_file.read_bytes())
    assert simulated.version is x509.Version.v1 and len(simulated.extensions) == 0


def test_v2_verifies_a_v1_ca_under_python_313_strict_defaults(
    v2: HomeWizardV2Server, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python 3.13's ``create_default_context`` sets VERIFY_X509_STRICT, which refuses a v1 CA."""
    original = ssl.create_default_context

    def python313_default(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = original(*args, **kwargs)
        context.verify_flags |= ssl.VERIFY_X509_STRICT | ssl.VERIFY_X509_PARTIAL_CHAIN
        return context

    monkeypatch.setattr(ssl, "create_default_context", python313_default)
    strict = python313_default(cafile=str(v2.ca_file))
    strict.hostname_checks_common_name = True
    with (
        socket.create_connection(("127.0.0.1", v2.port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        strict.wrap_socket(raw, server_hostname=f"appliance/p1dongle/{v2.serial}")
    v2.tokens["local/t"] = "A" * 32
    meter = HomeWizardV2Meter(
        f"127.0.0.1:{v2.port}", clock=clock, token="A" * 32, ca_file=v2.ca_file, serial=v2.serial
    )
    assert meter.reading().grid_w is not None


def test_v2_without_ca_file_trusts_only_the_homewizard_ca(v2: HomeWizardV2Server, clock: ManualClock) -> None:
    """No ``ca_file``: HomeWizard's CA is used (not the system store), so the simulator is refused."""
    v2.tokens["local/t"] = "A" * 32
    meter = HomeWizardV2Meter(f"127.0.0.1:{v2.port}", clock=clock, token="A" * 32, serial=v2.serial)
    with pytest.raises(Exception, match="TLS verification failed"):
        meter.reading()


# -- Shelly ----------------------------------------------------------------------------------------------
def test_shelly_pro_em_grid_on_channel_1(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    """A Pro EM-50 with the grid clamp on ``em1:1`` read the wrong clamp: the channel is a setting now."""
    clock.advance(2)
    server = started(ShellyServer(home.meter_port, clock, model="proem", grid_channel=1))
    assert isinstance(server, ShellyServer)
    sample = home.meter_port.reading_at(clock.now())
    assert sample is not None
    channel1 = ShellyMeter(f"127.0.0.1:{server.port}", clock=clock, variant="em1", channel=1).reading()
    assert channel1.grid_w == pytest.approx(sample.grid_w, abs=0.1)
    assert channel1.import_kwh == pytest.approx(sample.import_kwh)
    channel0 = ShellyMeter(f"127.0.0.1:{server.port}", clock=clock, variant="em1").reading()
    assert channel0.grid_w == 42.0  # the other clamp


def test_shelly_channel_setting_reaches_the_adapter(tmp_path: Path) -> None:
    config = tmp_path / "zsm.toml"
    config.write_text(
        '[meter]\nkind = "shelly"\nhost = "127.0.0.1"\nshelly_variant = "em1"\nshelly_channel = 1\n'
    )
    meter = build_meter(load_settings(config), ManualClock(START))
    assert isinstance(meter, ShellyMeter) and (meter.variant, meter.channel) == ("em1", 1)


@pytest.mark.parametrize("model", ["em", "3em"])
def test_shelly_gen1_status_emeters(
    home: SimulatedHome, clock: ManualClock, started: Start, model: str
) -> None:
    clock.advance(2)
    server = started(ShellyServer(home.meter_port, clock, model=model))  # type: ignore[arg-type]
    assert isinstance(server, ShellyServer)
    sample = home.meter_port.reading_at(clock.now())
    assert sample is not None
    channel = 0 if model == "em" else None  # EM: grid clamp on emeter 0; 3EM: the sum of the phases
    meter = ShellyMeter(f"127.0.0.1:{server.port}", clock=clock, variant="gen1", channel=channel)
    reading = meter.read()
    assert reading is not None and reading.grid_w == pytest.approx(sample.grid_w, abs=0.05)
    assert reading.import_kwh == pytest.approx(sample.import_kwh, abs=0.001)
    assert meter.read() is None  # same values: a repeat


def test_shelly_gen1_documented_payload_and_bad_items() -> None:
    """The Shelly 3EM ``/status`` shape (Shelly Gen1 API docs): W and Wh per emeter, + = import."""
    body = {
        "emeters": [
            {
                "power": 120.5,
                "reactive": 0,
                "voltage": 230.1,
                "is_valid": True,
                "total": 1000,
                "total_returned": 10,
            },
            {
                "power": -40.0,
                "reactive": 0,
                "voltage": 230.2,
                "is_valid": True,
                "total": 500,
                "total_returned": 0,
            },
            {
                "power": 0.0,
                "reactive": 0,
                "voltage": 229.9,
                "is_valid": True,
                "total": 250,
                "total_returned": 0,
            },
        ]
    }
    reading = gen1_reading(body, None, START)
    assert reading.grid_w == pytest.approx(80.5) and reading.phases_w == (120.5, -40.0, 0.0)
    assert (reading.import_kwh, reading.export_kwh) == (pytest.approx(1.75), pytest.approx(0.01))
    body["emeters"][1]["is_valid"] = False
    with pytest.raises(InvalidPayload, match="not valid"):
        gen1_reading(body, None, START)
    with pytest.raises(InvalidPayload, match="no emeter 5"):
        gen1_reading(body, 5, START)


# -- Zendure SmartMeter3CT -------------------------------------------------------------------------------
def test_smartmeter3ct_real_reports() -> None:
    flat = SmartMeter3CTReport.from_body(
        json.loads(fixture_text("zendure", "smartmeter3ct_report_real.json"))
    )
    reading = flat.to_reading(START)
    assert (reading.grid_w, reading.phases_w) == (2089.0, (0.0, 0.0, 2089.0))
    assert reading.meter_time == datetime.fromtimestamp(1786270830, UTC)
    wrapped = json.loads(fixture_text("zendure", "smartmeter3ct_report_wrapped_real.json"))
    assert SmartMeter3CTReport.from_body(wrapped).to_reading(START).grid_w == 767.0
    battery_report = json.loads(fixture_text("zendure", "report_2400acplus_real.json"))
    with pytest.raises(InvalidPayload, match="total_power"):
        SmartMeter3CTReport.from_body(battery_report).to_reading(START)


def test_smartmeter3ct_over_http(
    home: SimulatedHome, clock: ManualClock, started: Start, tmp_path: Path
) -> None:
    clock.advance(2)
    server = started(SmartMeter3CTServer(home.meter_port, clock))
    assert isinstance(server, SmartMeter3CTServer)
    config = tmp_path / "zsm.toml"
    config.write_text(f'[meter]\nkind = "zendure_3ct"\nhost = "127.0.0.1"\nport = {server.port}\n')
    meter = build_meter(load_settings(config), clock)
    assert isinstance(meter, SmartMeter3CT)
    sample = home.meter_port.reading_at(clock.now())
    reading = meter.read()
    assert sample is not None and reading is not None
    assert reading.grid_w == pytest.approx(sample.grid_w, abs=1.0)
    assert meter.read() is None  # same device timestamp: a repeat


# -- a lighter tick ---------------------------------------------------------------------------------------
def test_homewizard_v1_telegram_lines_read_like_dsmr_parser() -> None:
    for name, version in (("v5.txt", "5"), ("v4_2.txt", "4"), ("fluvius_v171.txt", "5B")):
        text = fixture_text("dsmr", name)
        values = telegram_values(text)
        assert values is not None
        assert telegram_to_reading(values, START) == telegram_to_reading(parsed(name, version), START)
    assert telegram_values(fixture_text("dsmr", "v2_2.txt")) is None  # no time: /api/v1/data instead
    garbled = fixture_text("dsmr", "v5.txt").replace("1-0:1.7.0(00.244*kW)", "1-0:1.7.0(00.2#4*kW)")
    garbled_values = telegram_values(garbled)
    assert garbled_values is not None
    reading = telegram_to_reading(garbled_values, START)  # no 1.7.0: the per-phase lines still give power
    assert reading.grid_w == pytest.approx(244.0)


def test_the_tick_s_telegram_reading_equals_the_dsmr_parser_route() -> None:
    from dsmr_parser.value_types import timestamp

    v5 = fixture_text("dsmr", "v5.txt")
    variants = [
        fixture_text("dsmr", name) for name in ("v5.txt", "v4_2.txt", "fluvius_v171.txt", "v2_2.txt")
    ] + [
        v5.replace("1-0:1.7.0(00.244*kW)", "1-0:1.7.0(00.2#4*kW)"),  # garbled: power from the phases
        v5.replace("1-0:1.7.0(00.244*kW)", "1-0:1.7.0(244*W)").replace("(000.000*kW)", "(0*W)"),
        v5.replace("*kWh)", "*Wh)"),
        v5.replace("1-0:1.8.1(", "1-0:1.8.0(").replace("1-0:2.8.2(", "1-0:2.8.0("),  # totals win
        "\r\n".join(line for line in v5.split("\r\n") if ":2" not in line and ":4" not in line),
    ]
    assert len(set(variants)) == len(variants)
    for text in variants:
        values = telegram_values(text)
        expected = telegram_to_reading(values, START) if values is not None else None
        assert telegram_reading(text, START) == expected
    unit = v5.replace("1-0:1.7.0(00.244*kW)", "1-0:1.7.0(00.244*kWh)")
    with pytest.raises(InvalidPayload, match="CURRENT_ELECTRICITY_USAGE: unexpected unit 'kWh'"):
        telegram_to_reading(telegram_values(unit), START)
    with pytest.raises(InvalidPayload, match="CURRENT_ELECTRICITY_USAGE: unexpected unit 'kWh'"):
        telegram_reading(unit, START)
    stamps = ["170102192002W", "170102192002S", "170102192002", "991231235959W", "000101000000S"]
    stamps += ["251026023000S", "251026023000W", "250330023000S", "171302192002W", "170230120000W"]
    for stamp in stamps:  # both sides of the clock going back, a missing hour, invalid dates
        assert telegram_time(f"0-0:1.0.0({stamp})") == timestamp(stamp), stamp


def test_homewizard_v1_tick_is_one_request_and_keeps_new_data_detection(
    make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    """A flat load: the values repeat, the meter time tells every new sample; one request per tick."""
    home = make_home(load_w=450.0)
    clock.advance(2)
    server = started(HomeWizardV1Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV1Server)
    meter = HomeWizardV1Meter(f"127.0.0.1:{server.port}", clock=clock)
    assert meter.read() is not None
    new = 0
    before = server.requests
    for _ in range(30):
        clock.advance(1)
        new += meter.read() is not None
        assert meter.read() is None  # the same sample again: a repeat
    assert new == 30 and server.requests - before == 60
    data = meter.data().to_reading(clock.now())
    telegram = meter.read()
    assert telegram is None  # nothing new since
    assert meter.reading().grid_w == data.grid_w == 450.0


# -- zenSDK simulator ------------------------------------------------------------------------------------
def test_zensdk_simulator_refuses_to_write_read_only_lamp_switch(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server = started(ZendureServer(home.battery_port, clock))
    assert isinstance(server, ZendureServer)
    body = {"sn": server.sn, "properties": {"lampSwitch": 0, "outputLimit": 120}}
    assert requests.post(f"{server.url}/properties/write", json=body, timeout=5).status_code == 200
    report = requests.get(f"{server.url}/properties/report", timeout=5).json()["properties"]
    assert report["lampSwitch"] == 1 and report["outputLimit"] == 120
