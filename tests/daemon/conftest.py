"""A simulated site for daemon tests: plant-driven Zendure and HomeWizard servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from controller.clock import ManualClock
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.zendure_server import ZendureServer
from controller.simulation.plant import BatteryParams, BatteryPlant, Household, MeterParams, MeterPlant

START = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


@dataclass
class Site:
    clock: ManualClock
    home: SimulatedHome
    zendure: ZendureServer
    meter: HomeWizardV1Server


def flat_household(load_w: float, pv_w: float = 0.0, seconds: int = 4 * 3600) -> Household:
    return Household(tuple([load_w] * seconds), tuple([pv_w] * seconds), name="flat")


@pytest.fixture
def site() -> Iterator[Site]:
    clock = ManualClock(START)
    home = SimulatedHome(
        flat_household(450.0),
        BatteryPlant(BatteryParams(initial_soc_pct=60.0)),
        MeterPlant(MeterParams(lag_s=5.0)),
        clock,
        origin=START,
    )
    zendure = ZendureServer(home.battery_port, clock)
    meter = HomeWizardV1Server(home.meter_port, clock)
    zendure.start()
    meter.start()
    try:
        yield Site(clock, home, zendure, meter)
    finally:
        zendure.stop()
        meter.stop()
