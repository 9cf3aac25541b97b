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
from controller.simulation.plant_bank import PlantBank

__all__ = ["LoopbackBankSite", "LoopbackSite", "loopback_bank_site", "loopback_site"]


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


@dataclass
class LoopbackBankSite:
    """Several zenSDK batteries (one server each) on one plant and one HomeWizard v1 meter."""

    clock: Clock
    home: SimulatedHome
    bank: PlantBank
    zendures: list[ZendureServer]
    meter: HomeWizardV1Server


@contextlib.contextmanager
def loopback_bank_site(
    household: Household,
    clock: Clock,
    batteries: list[BatteryParams],
    *,
    meter: MeterParams | None = None,
    origin: datetime | None = None,
) -> Iterator[LoopbackBankSite]:
    """One zenSDK server per battery and one meter server on 127.0.0.1; the meter sees the sum."""
    bank = PlantBank(batteries)
    home = SimulatedHome(
        household, bank, MeterPlant(meter or MeterParams()), clock, origin=origin or clock.now()
    )
    site = LoopbackBankSite(
        clock,
        home,
        bank,
        [
            ZendureServer(
                home.member_port(i),
                clock,
                sn=f"SIMZSM{i + 1:08d}",
                inverse_max_power_w=int(params.max_discharge_w),
                charge_max_limit_w=int(params.max_charge_w),
            )  # fmt: skip
            for i, params in enumerate(batteries)
        ],
        HomeWizardV1Server(home.meter_port, clock),
    )
    with contextlib.ExitStack() as stack:
        for zendure in site.zendures:
            zendure.start()
            stack.callback(zendure.stop)
        site.meter.start()
        stack.callback(site.meter.stop)
        yield site
