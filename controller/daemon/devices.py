"""Build the battery and meter adapters the daemon drives from the settings."""

from __future__ import annotations

from controller.clock import Clock
from controller.daemon.daemon import Devices
from controller.devices.factory import build_battery, build_meter
from controller.settings import Settings

__all__ = ["build_devices"]


def build_devices(settings: Settings, clock: Clock) -> Devices:
    """The Zendure client and the configured P1 meter adapter (``auto`` hosts resolve via discovery)."""
    return Devices(battery=build_battery(settings, clock), meter=build_meter(settings, clock))
