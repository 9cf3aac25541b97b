"""Build the battery and meter adapters the daemon drives from the settings."""

from __future__ import annotations

from controller.clock import Clock
from controller.daemon.daemon import Devices
from controller.devices.factory import build_battery_port, build_meter
from controller.settings import Settings

__all__ = ["build_devices"]


def build_devices(settings: Settings, clock: Clock) -> Devices:
    """The battery adapter (zenSDK or MQTT) and the P1 meter (``auto`` hosts resolve via discovery)."""
    return Devices(battery=build_battery_port(settings, clock), meter=build_meter(settings, clock))
