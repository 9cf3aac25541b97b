"""A simulated site for daemon tests: plant-driven Zendure and HomeWizard servers on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from controller.clock import ManualClock
from controller.simulation.devices.site import LoopbackSite, loopback_site
from controller.simulation.plant import BatteryParams, Household, MeterParams

START = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)

#: the servers may be replaced by a test (a restart on the same port); the fixture stops the current ones
Site = LoopbackSite


def flat_household(load_w: float, pv_w: float = 0.0, seconds: int = 4 * 3600) -> Household:
    return Household(tuple([load_w] * seconds), tuple([pv_w] * seconds), name="flat")


@pytest.fixture
def site() -> Iterator[Site]:
    clock = ManualClock(START)
    with loopback_site(
        flat_household(450.0),
        clock,
        battery=BatteryParams(initial_soc_pct=60.0),
        meter=MeterParams(lag_s=5.0),
        origin=START,
    ) as running:
        yield running
