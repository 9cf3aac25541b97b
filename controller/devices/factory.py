"""Build the battery and meter adapters from :class:`~controller.settings.Settings`.

``host = "auto"`` resolves through mDNS discovery, remembers the last good address (an
:class:`AddressBook`, optionally a JSON file) and re-discovers after repeated failures; a static IP or host
name is used as is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from controller.clock import Clock
from controller.devices.discovery import Kind, find_address
from controller.devices.hosts import AddressBook, AutoHost, HostResolver, StaticHost
from controller.devices.meters.base import MeterAdapter
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.zendure_client import ZendureClient
from controller.devices.zendure_commands import StandbyStyle
from controller.settings import Settings

if TYPE_CHECKING:
    from controller.devices.zendure_mqtt_client import ZendureMqttBattery

__all__ = [
    "Discover",
    "address_book_for",
    "build_battery",
    "build_battery_port",
    "build_meter",
    "build_mqtt_battery",
    "resolver_for",
]

LOGGER = logging.getLogger(__name__)

Discover = Callable[[Kind, str | None], tuple[str, int] | None]
"""``discover(kind, serial) -> (host, port) | None``; injectable for tests."""

_METER_PORTS = {
    "homewizard_v1": 80,
    "homewizard_v2": 443,
    "dsmr_tcp": 2001,
    "shelly": 80,
    "json_http": 80,
    "zendure_3ct": 80,
}


def address_book_for(settings: Settings) -> AddressBook:
    """The address book next to the daemon's database (``<db>.addresses.json``)."""
    path = Path(settings.database_path)
    return AddressBook(path.with_name(path.name + ".addresses.json"))


def _default_discover(clock: Clock, timeout_s: float) -> Discover:
    def discover(kind: Kind, serial: str | None) -> tuple[str, int] | None:
        return find_address(kind, clock=clock, serial=serial, timeout_s=timeout_s)

    return discover


def resolver_for(
    kind: Kind,
    host: str,
    port: int,
    *,
    clock: Clock,
    serial: str | None,
    book: AddressBook,
    discover: Discover,
) -> HostResolver:
    """A static address, or an :class:`AutoHost` for ``"auto"``."""
    if host.strip().lower() != "auto":
        return StaticHost(host, port)
    key = f"{kind}:{serial or '*'}"
    return AutoHost(key, lambda: discover(kind, serial), clock, book=book)


def build_battery(
    settings: Settings,
    clock: Clock,
    *,
    book: AddressBook | None = None,
    discover: Discover | None = None,
) -> ZendureClient:
    """The zenSDK client for ``settings.battery``."""
    cfg = settings.battery
    resolver = resolver_for(
        "zendure",
        cfg.host,
        cfg.port,
        clock=clock,
        serial=cfg.serial,
        book=book or address_book_for(settings),
        discover=discover or _default_discover(clock, cfg.discovery_timeout_s),
    )
    return ZendureClient(
        resolver,
        clock=clock,
        sn=cfg.serial,
        timeout_s=cfg.timeout_s,
        retries=cfg.retries,
        standby=StandbyStyle(cfg.standby_style),
    )


def build_mqtt_battery(settings: Settings, clock: Clock) -> ZendureMqttBattery:
    """The legacy-device MQTT adapter for ``settings.battery.mqtt`` (``ValueError`` when incomplete)."""
    from controller.devices.zendure_mqtt_client import ZendureMqttBattery
    from controller.devices.zendure_mqtt_connection import BrokerAddress
    from controller.devices.zendure_mqtt_protocol import MODELS, model_for_product_key

    cfg = settings.battery.mqtt
    if not cfg.product_key or not cfg.device_key:
        raise ValueError(
            "battery.kind = 'mqtt' needs battery.mqtt.product_key and device_key (zsm discover-mqtt)"
        )
    model = MODELS[cfg.model] if cfg.model else model_for_product_key(cfg.product_key)
    if model is None:
        raise ValueError(f"unknown product key {cfg.product_key!r}: set battery.mqtt.model")
    broker = BrokerAddress(
        host=cfg.host,
        port=cfg.port,
        username=cfg.username,
        password=cfg.password.get_secret_value() if cfg.password else None,
        tls=cfg.tls,
        ca_file=cfg.ca_file,
    )
    return ZendureMqttBattery(
        broker,
        product_key=cfg.product_key,
        device_key=cfg.device_key,
        model=model,
        clock=clock,
        stale_s=settings.limits.battery_stale_s,
        getall_interval_s=cfg.getall_interval_s,
        command_interval_s=cfg.command_interval_s,
    )


def build_battery_port(settings: Settings, clock: Clock) -> ZendureClient | ZendureMqttBattery:
    """The battery adapter for ``battery.kind``: the zenSDK HTTP client or the legacy MQTT adapter."""
    if settings.battery.kind == "mqtt":
        return build_mqtt_battery(settings, clock)
    return build_battery(settings, clock)


def build_meter(
    settings: Settings,
    clock: Clock,
    *,
    book: AddressBook | None = None,
    discover: Discover | None = None,
) -> MeterAdapter:
    """The meter adapter for ``settings.meter`` (``ValueError`` for an incomplete configuration)."""
    cfg = settings.meter
    kind = cfg.kind
    # protocol modules are imported for the configured meter only (dsmr_parser alone costs ~13 MB, the
    # adapters on ``requests`` load its ~10 MB)
    if kind == "dsmr_serial":
        from controller.devices.meters.dsmr import DsmrMeter, SerialSource

        if not cfg.serial_port:
            raise ValueError("meter.kind = 'dsmr_serial' needs meter.serial_port")
        return DsmrMeter(
            SerialSource(cfg.serial_port, dsmr_version=cfg.dsmr_version),
            clock=clock,
            dsmr_version=cfg.dsmr_version,
            encryption_key=_secret(cfg.dsmr_key),
            authentication_key=_secret(cfg.dsmr_auth_key),
        )
    if kind == "json_http":
        from controller.devices.meters.json_http import JsonHttpMeter

        if not cfg.url or not cfg.json_path:
            raise ValueError("meter.kind = 'json_http' needs meter.url and meter.json_path")
        return JsonHttpMeter(
            cfg.url, cfg.json_path, clock=clock, unit=cfg.unit, sign=cfg.sign, timeout_s=cfg.timeout_s
        )
    port = cfg.port or _METER_PORTS[kind]
    if cfg.host.strip().lower() == "auto" and kind not in ("homewizard_v1", "homewizard_v2"):
        raise ValueError(f"meter.host = 'auto' works for HomeWizard meters only; set an address for {kind}")
    resolver = resolver_for(
        "homewizard_v2" if kind == "homewizard_v2" else "homewizard_v1",
        cfg.host,
        port,
        clock=clock,
        serial=cfg.serial,
        book=book or address_book_for(settings),
        discover=discover or _default_discover(clock, settings.battery.discovery_timeout_s),
    )
    if kind == "homewizard_v1":
        return HomeWizardV1Meter(resolver, clock=clock, timeout_s=cfg.timeout_s)
    if kind == "homewizard_v2":
        if cfg.token is None:
            raise ValueError("meter.kind = 'homewizard_v2' needs meter.token (run: zsm pair-meter)")
        from controller.devices.meters.homewizard_v2 import HomeWizardV2Meter, HomeWizardV2Push

        token = cfg.token.get_secret_value()
        if cfg.push:
            return HomeWizardV2Push(
                resolver,
                clock=clock,
                token=token,
                serial=cfg.serial,
                ca_file=cfg.ca_file,
                timeout_s=max(cfg.timeout_s, 2.0),
                wait_s=cfg.poll_interval_s,
                meter_timezone=cfg.meter_timezone,
            )
        return HomeWizardV2Meter(
            resolver,
            clock=clock,
            token=token,
            serial=cfg.serial,
            ca_file=cfg.ca_file,
            timeout_s=cfg.timeout_s,
            meter_timezone=cfg.meter_timezone,
        )
    if kind == "dsmr_tcp":
        from controller.devices.meters.dsmr import DsmrMeter, TcpSource

        return DsmrMeter(
            TcpSource(resolver),
            clock=clock,
            dsmr_version=cfg.dsmr_version,
            wait_s=cfg.poll_interval_s,
            encryption_key=_secret(cfg.dsmr_key),
            authentication_key=_secret(cfg.dsmr_auth_key),
        )
    if kind == "zendure_3ct":
        from controller.devices.meters.zendure_3ct import SmartMeter3CT

        return SmartMeter3CT(resolver, clock=clock, timeout_s=cfg.timeout_s)
    from controller.devices.meters.shelly import ShellyMeter

    return ShellyMeter(
        resolver,
        clock=clock,
        variant=cfg.shelly_variant,
        channel=cfg.shelly_channel,
        timeout_s=cfg.timeout_s,
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
