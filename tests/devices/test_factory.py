"""Adapters built from settings: static addresses, 'auto' via discovery, the address book, re-discovery."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import SecretStr

from controller.clock import ManualClock
from controller.devices.errors import DeviceUnreachable
from controller.devices.factory import build_battery, build_meter
from controller.devices.hosts import AddressBook
from controller.devices.meters.dsmr import DsmrMeter
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.meters.homewizard_v2 import HomeWizardV2Meter, HomeWizardV2Push
from controller.devices.meters.json_http import JsonHttpMeter
from controller.devices.meters.shelly import ShellyMeter
from controller.settings import Settings
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.zendure_server import ZendureServer

Start = Callable[[object], object]


def settings(tmp_path: Path, **sections: dict[str, object]) -> Settings:
    return Settings(database_path=tmp_path / "zsm.db", **sections)  # type: ignore[arg-type]


def test_static_addresses(tmp_path: Path, home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server = started(ZendureServer(home.battery_port, clock))
    assert isinstance(server, ZendureServer)
    s = settings(tmp_path, battery={"host": "127.0.0.1", "port": server.port})
    client = build_battery(
        s, clock, discover=lambda kind, serial: pytest.fail("no discovery for static hosts")
    )
    assert client.read().soc_pct == 50.0


def test_auto_discovers_remembers_and_rediscovers(
    tmp_path: Path, home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    first = ZendureServer(home.battery_port, clock)
    started(first)
    where = {"port": first.port}
    calls: list[tuple[str, str | None]] = []

    def discover(kind: str, serial: str | None) -> tuple[str, int] | None:
        calls.append((kind, serial))
        return ("127.0.0.1", where["port"])

    s = settings(tmp_path, battery={"host": "auto", "retries": 0, "timeout_s": 0.5})
    book = AddressBook(tmp_path / "book.json")
    client = build_battery(s, clock, book=book, discover=discover)
    assert client.read().soc_pct == 50.0
    assert calls == [("zendure", None)]
    assert book.get("zendure:*") == ("127.0.0.1", first.port)
    # A restart with the book: no discovery needed.
    again = build_battery(s, clock, book=AddressBook(tmp_path / "book.json"), discover=discover)
    again.read()
    assert len(calls) == 1
    # The device moves (new DHCP lease): failures, then re-discovery.
    first.stop()
    second = ZendureServer(home.battery_port, clock)
    started(second)
    where["port"] = second.port
    for _ in range(3):
        with pytest.raises(DeviceUnreachable):
            client.read()
    clock.advance(61)
    assert client.read().soc_pct == 50.0
    assert len(calls) == 2
    assert book.get("zendure:*") == ("127.0.0.1", second.port)


def test_auto_without_a_device_is_unreachable(tmp_path: Path, clock: ManualClock) -> None:
    client = build_battery(settings(tmp_path), clock, discover=lambda kind, serial: None)
    with pytest.raises(DeviceUnreachable, match="discovery found nothing"):
        client.read()


def test_meter_kinds(tmp_path: Path, home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    clock.advance(2)
    server = started(HomeWizardV1Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV1Server)
    meter = build_meter(
        settings(tmp_path, meter={"kind": "homewizard_v1", "host": "auto", "serial": "3c39e7aabbcc"}),
        clock,
        discover=lambda kind, serial: (
            ("127.0.0.1", server.port) if (kind, serial) == ("homewizard_v1", "3c39e7aabbcc") else None
        ),
    )
    assert isinstance(meter, HomeWizardV1Meter) and meter.read() is not None
    token = SecretStr("A" * 32)
    push = build_meter(
        settings(tmp_path, meter={"kind": "homewizard_v2", "host": "10.0.0.2", "token": token}), clock
    )
    poll = build_meter(
        settings(
            tmp_path, meter={"kind": "homewizard_v2", "host": "10.0.0.2", "token": token, "push": False}
        ),
        clock,
    )
    assert isinstance(push, HomeWizardV2Push) and isinstance(poll, HomeWizardV2Meter)
    assert isinstance(
        build_meter(settings(tmp_path, meter={"kind": "dsmr_tcp", "host": "10.0.0.3"}), clock), DsmrMeter
    )
    serial = build_meter(
        settings(tmp_path, meter={"kind": "dsmr_serial", "serial_port": "/dev/ttyUSB0"}), clock
    )
    assert isinstance(serial, DsmrMeter)
    assert isinstance(
        build_meter(settings(tmp_path, meter={"kind": "shelly", "host": "10.0.0.4"}), clock), ShellyMeter
    )
    generic = build_meter(
        settings(tmp_path, meter={"kind": "json_http", "url": "http://10.0.0.5/x", "json_path": "p"}), clock
    )
    assert isinstance(generic, JsonHttpMeter)


@pytest.mark.parametrize(
    ("meter", "message"),
    [
        ({"kind": "homewizard_v2", "host": "10.0.0.2"}, "pair-meter"),
        ({"kind": "dsmr_serial"}, "serial_port"),
        ({"kind": "json_http"}, "json_path"),
        ({"kind": "dsmr_tcp"}, "HomeWizard meters only"),
    ],
)
def test_incomplete_meter_settings(
    tmp_path: Path, clock: ManualClock, meter: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        build_meter(settings(tmp_path, meter=meter), clock)
