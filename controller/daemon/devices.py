"""Build the battery and meter adapters the daemon drives from the settings."""

from __future__ import annotations

from controller.clock import Clock
from controller.daemon.daemon import Devices
from controller.devices.meters.homewizard_v1 import HomeWizardV1Meter
from controller.devices.zendure_client import ZendureClient
from controller.settings import Settings

__all__ = ["build_devices"]


def build_devices(settings: Settings, clock: Clock) -> Devices:
    """The Zendure client and the configured P1 meter adapter."""
    battery = ZendureClient(
        settings.battery.host,
        clock=clock,
        port=settings.battery.port,
        sn=settings.battery.serial,
        timeout_s=settings.battery.timeout_s,
    )
    meter = HomeWizardV1Meter(
        settings.meter.host, clock=clock, port=settings.meter.port or 80, timeout_s=settings.meter.timeout_s
    )
    return Devices(battery=battery, meter=meter)
