"""A simulated home on loopback: one plant driving a zenSDK battery and a HomeWizard v1 meter.

What the demo, the daemon benchmark and the daemon's tests stand the real daemon against.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from controller.clock import Clock
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.zendure_server import ZendureServer
from controller.simulation.plant import BatteryParams, BatteryPlant, Household, MeterParams, MeterPlant

__all__ = ["LoopbackSite", "loopback_site"]


@dataclass
class LoopbackSite:
    """The plant and the two device servers (each with ``.port`` / ``.url``)."""

    clock: Clock
    home: SimulatedHome
    zendure: ZendureServer
    meter: HomeWizardV1Server


@contextlib.contextmanager
def loopback_site(
    household: Household,
    clock: Clock,
    *,
    battery: BatteryParams | None = None,
    meter: MeterParams | None = None,
    origin: datetime | None = None,
) -> Iterator[LoopbackSite]:
    """Start the battery and meter servers on 127.0.0.1 (free ports); stop them when the block ends."""
    home = SimulatedHome(
        household, BatteryPlant(battery or BatteryParams()), MeterPlant(meter or MeterParams()), clock,
        origin=origin or clock.now(),
    )  # fmt: skip
    site = LoopbackSite(
        clock, home, ZendureServer(home.battery_port, clock), HomeWizardV1Server(home.meter_port, clock)
    )
    site.zendure.start()
    try:
        site.meter.start()
        try:
            yield site
        finally:
            site.meter.stop()
    finally:
        site.zendure.stop()
