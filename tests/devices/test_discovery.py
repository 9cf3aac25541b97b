"""Discovery: resolution with zeroconf's in-process objects, confirmation against simulators, and the mDNS
browse inside a private network namespace (never on the machine's real interfaces)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from zeroconf import ServiceInfo

from controller.clock import ManualClock
from controller.devices.discovery import Candidate, candidate_from_info, confirm
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardFaults, HomeWizardV1Server
from controller.simulation.devices.homewizard_v2_server import HomeWizardV2Server
from controller.simulation.devices.zendure_server import ZendureServer

REPO = Path(__file__).resolve().parents[2]
LOOPBACK = [socket.inet_aton("127.0.0.1")]
Start = Callable[[object], object]


def info(type_: str, instance: str, port: int = 80, **kwargs: object) -> ServiceInfo:
    return ServiceInfo(type_, f"{instance}.{type_}", port=port, **kwargs)  # type: ignore[arg-type]


def test_zendure_on_both_service_types() -> None:
    legacy = candidate_from_info(
        info("_zendure._tcp.local.", "Zendure-SolarFlow800-WOB1NHMAMXXXXX3", addresses=LOOPBACK)
    )
    assert legacy == Candidate(
        "zendure",
        "_zendure._tcp.local.",
        "Zendure-SolarFlow800-WOB1NHMAMXXXXX3",
        "127.0.0.1",
        80,
        "WOB1NHMAMXXXXX3",
        {},
    )
    fw2 = candidate_from_info(
        info("_http._tcp.local.", "Zendure-solarFlow800Pro2-EOD1NLN9P010318", addresses=LOOPBACK, port=8080)
    )
    assert (
        fw2 is not None
        and fw2.kind == "zendure"
        and fw2.port == 8080
        and fw2.serial_hint == "EOD1NLN9P010318"
    )


def test_other_http_services_are_ignored() -> None:
    assert candidate_from_info(info("_http._tcp.local.", "Brother-Printer", addresses=LOOPBACK)) is None
    assert candidate_from_info(info("_ipp._tcp.local.", "Zendure-x-y", addresses=LOOPBACK)) is None


def test_homewizard_v1_and_v2_with_txt_hints() -> None:
    v1 = candidate_from_info(
        info(
            "_hwenergy._tcp.local.",
            "p1meter-334455",
            addresses=LOOPBACK,
            properties={
                "api_enabled": "1",
                "path": "/api/v1",
                "serial": "3c39e7334455",
                "product_type": "HWE-P1",
            },
        )
    )
    assert v1 is not None and (v1.kind, v1.port, v1.serial_hint) == ("homewizard_v1", 80, "3c39e7334455")
    assert v1.properties["api_enabled"] == "1"
    v2 = candidate_from_info(
        info(
            "_homewizard._tcp.local.",
            "p1meter-334455",
            port=0,
            addresses=LOOPBACK,
            properties={
                "api_version": "2.0.0",
                "id": "appliance/p1dongle/3c39e7334455",
                "serial": "3c39e7334455",
            },
        )
    )
    assert v2 is not None and (v2.kind, v2.port) == ("homewizard_v2", 443)


def test_address_preference_ipv4_then_ipv6_then_host_name() -> None:
    both = info(
        "_zendure._tcp.local.",
        "Zendure-a-SN1",
        addresses=[socket.inet_pton(socket.AF_INET6, "::1"), socket.inet_aton("127.0.0.1")],
    )
    assert candidate_from_info(both).host == "127.0.0.1"  # type: ignore[union-attr]
    v6 = info("_zendure._tcp.local.", "Zendure-a-SN1", addresses=[socket.inet_pton(socket.AF_INET6, "::1")])
    assert candidate_from_info(v6).host == "::1"  # type: ignore[union-attr]
    named = info("_zendure._tcp.local.", "Zendure-a-SN1", server="zendure-solarflow800-sn1.local.")
    assert candidate_from_info(named).host == "zendure-solarflow800-sn1.local"  # type: ignore[union-attr]


def test_confirmation_queries_each_device(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    clock.advance(2)
    zendure = started(ZendureServer(home.battery_port, clock, sn="SN800PRO", product="solarFlow800Pro"))
    meter = started(HomeWizardV1Server(home.meter_port, clock, serial="3c39e7aabbcc"))
    v2 = started(HomeWizardV2Server(home.meter_port, clock))
    assert isinstance(zendure, ZendureServer) and isinstance(meter, HomeWizardV1Server)
    assert isinstance(v2, HomeWizardV2Server)
    device = confirm(
        Candidate("zendure", "_http._tcp.local.", "Zendure-x-SN800PRO", "127.0.0.1", zendure.port),
        clock=clock,
    )
    assert device is not None and (device.serial, device.product) == ("SN800PRO", "solarFlow800Pro")
    p1 = confirm(
        Candidate("homewizard_v1", "_hwenergy._tcp.local.", "p1meter", "127.0.0.1", meter.port), clock=clock
    )
    assert p1 is not None and (p1.serial, p1.product) == ("3c39e7aabbcc", "HWE-P1")
    paired = confirm(
        Candidate(
            "homewizard_v2", "_homewizard._tcp.local.", "p1meter", "127.0.0.1", v2.port, "3c39e7aabbcc"
        ),
        clock=clock,
    )
    assert paired is not None and paired.note == "needs zsm pair-meter"
    meter.faults = HomeWizardFaults(drop_requests=True)
    assert (
        confirm(
            Candidate("homewizard_v1", "_hwenergy._tcp.local.", "p1meter", "127.0.0.1", meter.port),
            clock=clock,
            timeout_s=0.5,
        )
        is None
    )
    # A printer answering on the advertised port is not confirmed as a battery.
    assert (
        confirm(
            Candidate("zendure", "_http._tcp.local.", "Zendure-fake", "127.0.0.1", meter.port),
            clock=clock,
            timeout_s=0.5,
        )
        is None
    )


@pytest.fixture
def netns() -> Iterator[str]:
    """A private network namespace with only a multicast-capable loopback (skips when not permitted)."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2; the browse test never uses real interfaces")
    name = f"zsm-disc-{uuid.uuid4().hex[:8]}"
    created = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, check=False)
    if created.returncode != 0:
        pytest.skip(f"cannot create a network namespace here: {created.stderr.strip()}")
    try:
        for command in (
            ["ip", "link", "set", "lo", "up"],
            ["ip", "link", "set", "lo", "multicast", "on"],
            ["ip", "route", "add", "224.0.0.0/4", "dev", "lo"],
        ):
            subprocess.run(["ip", "netns", "exec", name, *command], check=True, capture_output=True)
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


def test_browse_finds_and_confirms_devices_inside_a_namespace(netns: str) -> None:
    result = subprocess.run(
        [
            "ip",
            "netns",
            "exec",
            netns,
            sys.executable,
            "-m",
            "tests.devices.netns_discovery",
            "1.5",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    devices = json.loads(result.stdout.strip().splitlines()[-1])
    found = {(d["kind"], d["serial"], d["product"]) for d in devices}
    assert found == {
        ("zendure", "EOD1NLN9P010318", "solarFlow800Pro2"),
        ("homewizard_v1", "3c39e7aabbcc", "HWE-P1"),
    }
    assert all(d["host"] == "127.0.0.1" and d["port_matches"] for d in devices)
