"""LAN discovery over mDNS (python-zeroconf): Zendure zenSDK devices, HomeWizard and Shelly meters.

Browsed service types: ``_zendure._tcp`` and ``_http._tcp`` instances named ``Zendure-*`` (firmware 2.x
advertises only the latter), ``_hwenergy._tcp`` (HomeWizard API v1), ``_homewizard._tcp`` (API v2) and
``_shelly._tcp`` (Shelly Gen2+). HomeWizard advertises every product (P1 meter, kWh meters, Energy Socket,
water meter) under the same types: only a P1 meter (``HWE-P1``) is taken as the grid meter unless the user
opts a kWh meter in (:func:`is_grid_meter`).
TXT records are only hints: every candidate is confirmed by querying it (zenSDK report: ``sn`` and
``product``; HomeWizard ``/api``). :func:`candidate_from_info` is the pure resolution step (testable with
zeroconf's in-process :class:`~zeroconf.ServiceInfo` objects); :func:`browse` does the network part.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from controller.clock import Clock
from controller.devices.errors import ApiDisabled, DeviceError, DeviceUnauthorized
from controller.devices.http import http_request, json_body
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.zendure_client import ZendureClient

__all__ = [
    "Candidate",
    "DiscoveredDevice",
    "SERVICE_TYPES",
    "browse",
    "candidate_from_info",
    "confirm",
    "discover",
    "find_address",
    "is_grid_meter",
]

LOGGER = logging.getLogger(__name__)

ZENDURE = "_zendure._tcp.local."
HTTP = "_http._tcp.local."
HW_V1 = "_hwenergy._tcp.local."
HW_V2 = "_homewizard._tcp.local."
SHELLY = "_shelly._tcp.local."
SERVICE_TYPES: tuple[str, ...] = (ZENDURE, HTTP, HW_V1, HW_V2, SHELLY)

Kind = Literal["zendure", "homewizard_v1", "homewizard_v2", "shelly"]

P1_METER = "HWE-P1"
KWH_METERS = frozenset({"HWE-KWH1", "HWE-KWH3", "SDM230-WIFI", "SDM630-WIFI"})
"""HomeWizard kWh meters: a grid meter only when the user opts them in (e.g. one at the grid connection)."""
SHELLY_METER_APPS = frozenset({"PRO3EM", "PROEM", "EMG3", "EM1", "SHEM", "SHEM-3"})
"""Shelly meters (Gen2+ ``app`` / Gen1 ``type``); plugs and relays with power metering are no grid meters."""


def is_grid_meter(kind: str, product: str, *, allow_kwh_meter: bool = False) -> bool:
    """Whether a discovered device may be written as the grid meter: a HomeWizard P1 meter, a Shelly energy
    meter, or (opted in) a HomeWizard kWh meter. Energy Sockets, water meters and batteries never are."""
    name = product.strip().upper()
    if kind.startswith("homewizard"):
        return name == P1_METER or (allow_kwh_meter and name in KWH_METERS)
    if kind == "shelly":
        return name in SHELLY_METER_APPS
    return False


@dataclass(frozen=True)
class Candidate:
    """An advertised service that looks like one of ours (not yet confirmed)."""

    kind: Kind
    service_type: str
    instance: str
    host: str
    port: int
    serial_hint: str | None = None
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def product_hint(self) -> str:
        """The product the TXT record names (HomeWizard ``product_type``, Shelly ``app``), else ``"?"``."""
        return self.properties.get("product_type") or self.properties.get("app") or "?"


@dataclass(frozen=True)
class DiscoveredDevice:
    """A confirmed device: it answered with its serial number and product."""

    kind: Kind
    host: str
    port: int
    serial: str
    product: str
    instance: str
    note: str = ""


def _text(value: bytes | str | None) -> str | None:
    if value is None:
        return None
    return value.decode(errors="replace") if isinstance(value, bytes) else value


def candidate_from_info(info: Any) -> Candidate | None:
    """Resolve a zeroconf ``ServiceInfo`` into a :class:`Candidate` (``None`` when it is not ours)."""
    service_type = str(info.type)
    name = str(info.name)
    instance = name[: -len(service_type) - 1] if name.endswith("." + service_type) else name
    if service_type == HTTP and not instance.lower().startswith("zendure-"):
        return None
    if service_type not in SERVICE_TYPES:
        return None
    addresses = [a for a in info.parsed_addresses() if ":" not in a] or list(info.parsed_addresses())
    host = addresses[0] if addresses else (str(info.server).rstrip(".") if info.server else "")
    if not host:
        return None
    properties = {
        k.decode(errors="replace") if isinstance(k, bytes) else str(k): _text(v) or ""
        for k, v in (info.properties or {}).items()
    }
    if service_type in (ZENDURE, HTTP):
        serial = instance.rsplit("-", 1)[-1] if "-" in instance else None
        return Candidate("zendure", service_type, instance, host, int(info.port or 80), serial, properties)
    if service_type == SHELLY:
        serial = instance.rsplit("-", 1)[-1] if "-" in instance else None
        return Candidate("shelly", service_type, instance, host, int(info.port or 80), serial, properties)
    kind: Kind = "homewizard_v1" if service_type == HW_V1 else "homewizard_v2"
    default_port = 80 if kind == "homewizard_v1" else 443
    return Candidate(
        kind,
        service_type,
        instance,
        host,
        int(info.port or default_port),
        properties.get("serial"),
        properties,
    )


def confirm(candidate: Candidate, *, clock: Clock, timeout_s: float = 2.0) -> DiscoveredDevice | None:
    """Query the candidate; the confirmed device, or ``None`` when it does not answer as expected."""
    address = f"{candidate.host}:{candidate.port}"
    try:
        if candidate.kind == "zendure":
            report = ZendureClient(address, clock=clock, timeout_s=timeout_s, retries=0).report()
            return DiscoveredDevice(
                "zendure", candidate.host, candidate.port, report.sn, report.product, candidate.instance
            )
        if candidate.kind == "homewizard_v1":
            device = HomeWizardV1Meter(address, clock=clock, timeout_s=timeout_s).device()
            note = (
                "local API switched off in the app" if candidate.properties.get("api_enabled") == "0" else ""
            )
            return DiscoveredDevice(
                "homewizard_v1",
                candidate.host,
                candidate.port,
                device.serial,
                device.product_type,
                candidate.instance,
                note,
            )
        if candidate.kind == "shelly":
            return _confirm_shelly(candidate, timeout_s)
        return _confirm_v2(candidate, timeout_s)
    except ApiDisabled as err:
        LOGGER.info("%s at %s answers but its local API is off: %s", candidate.kind, address, err)
        return DiscoveredDevice(
            candidate.kind,
            candidate.host,
            candidate.port,
            candidate.serial_hint or "?",
            candidate.product_hint,
            candidate.instance,
            "local API disabled",
        )
    except DeviceError as err:
        LOGGER.info("discovery: %s at %s not confirmed: %s", candidate.instance, address, err)
        return None


def _confirm_shelly(candidate: Candidate, timeout_s: float) -> DiscoveredDevice | None:
    """``GET /shelly``: Gen2+ answer ``app`` and ``gen``, Gen1 answer ``type``; the MAC is the serial."""
    import requests  # discovery runs rarely: requests stays out of a daemon that does not need it

    session = requests.Session()
    try:
        response = http_request(
            session,
            "GET",
            f"http://{candidate.host}:{candidate.port}/shelly",
            timeout_s=timeout_s,
            what="Shelly /shelly",
        )
        body = json_body(response, "Shelly /shelly")
    finally:
        session.close()
    if not isinstance(body, dict):
        return None
    product = body.get("app") or body.get("type") or candidate.properties.get("app") or "?"
    serial = body.get("mac") or candidate.serial_hint or "?"
    generation = body.get("gen", 1)
    return DiscoveredDevice(
        "shelly",
        candidate.host,
        candidate.port,
        str(serial).lower(),
        str(product),
        candidate.instance,
        f"gen {generation}",
    )


def _confirm_v2(candidate: Candidate, timeout_s: float) -> DiscoveredDevice | None:
    """A v2 meter answers ``GET /api`` without a token with 401 (the certificate is checked after pairing)."""
    import requests

    session = requests.Session()
    session.verify = False  # a probe without credentials; pairing and polling verify the HomeWizard CA
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            http_request(
                session,
                "GET",
                f"https://{candidate.host}:{candidate.port}/api",
                timeout_s=timeout_s,
                what="probe",
                verify=False,
            )
    except DeviceUnauthorized:
        serial = candidate.serial_hint or "?"
        product = candidate.product_hint
        return DiscoveredDevice(
            "homewizard_v2",
            candidate.host,
            candidate.port,
            serial,
            product,
            candidate.instance,
            "needs zsm pair-meter",
        )
    except DeviceError as err:
        LOGGER.info("discovery: %s not confirmed: %s", candidate.instance, err)
        return None
    finally:
        session.close()
    return None


def browse(
    zc: Any, *, clock: Clock, timeout_s: float = 3.0, types: Sequence[str] = SERVICE_TYPES
) -> list[Candidate]:
    """Browse ``types`` on a running ``Zeroconf`` for ``timeout_s`` and resolve what was seen."""
    from zeroconf import ServiceBrowser, ServiceStateChange

    seen: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change is not ServiceStateChange.Removed:
            with lock:
                seen.add((service_type, name))

    browsers = [ServiceBrowser(zc, t, handlers=[on_change]) for t in types]
    try:
        clock.sleep(timeout_s)
    finally:
        for browser in browsers:
            browser.cancel()
    candidates: list[Candidate] = []
    with lock:
        found = sorted(seen)
    for service_type, name in found:
        info = zc.get_service_info(service_type, name, timeout=int(timeout_s * 1000))
        if info is None:
            continue
        candidate = candidate_from_info(info)
        if candidate is not None:
            candidates.append(candidate)
    return candidates


def discover(
    *,
    clock: Clock,
    timeout_s: float = 3.0,
    interfaces: Sequence[str] | None = None,
    confirm_candidates: bool = True,
) -> list[DiscoveredDevice]:
    """Browse the LAN and return the confirmed devices, one per kind and serial."""
    from zeroconf import InterfaceChoice, Zeroconf

    zc = Zeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All)
    try:
        candidates = browse(zc, clock=clock, timeout_s=timeout_s)
    finally:
        zc.close()
    devices: dict[tuple[str, str], DiscoveredDevice] = {}
    for candidate in candidates:
        if confirm_candidates:
            device = confirm(candidate, clock=clock, timeout_s=min(timeout_s, 3.0))
        else:
            device = DiscoveredDevice(
                candidate.kind,
                candidate.host,
                candidate.port,
                candidate.serial_hint or "?",
                candidate.product_hint,
                candidate.instance,
                "unconfirmed",
            )
        if device is not None:
            devices.setdefault((device.kind, device.serial), device)
    return sorted(devices.values(), key=lambda d: (d.kind, d.serial))


def find_address(
    kind: Kind | Sequence[Kind], *, clock: Clock, serial: str | None = None, timeout_s: float = 3.0
) -> tuple[str, int] | None:
    """Discover and return ``(host, port)`` of the device of ``kind`` (and ``serial`` when given).

    Without a ``serial``, a meter kind only matches a grid meter (:func:`is_grid_meter`): a HomeWizard Energy
    Socket on the same service type is never picked as the meter.
    """
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    for device in discover(clock=clock, timeout_s=timeout_s):
        if device.kind not in kinds:
            continue
        if serial is not None:
            if device.serial.lower() == serial.lower():
                return device.host, device.port
        elif device.kind == "zendure" or is_grid_meter(device.kind, device.product):
            return device.host, device.port
    return None
