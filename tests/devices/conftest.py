"""Fixtures for the device adapter and simulator tests: a virtual clock, a plant-driven home, servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.plant import BatteryParams, BatteryPlant, Household, MeterParams, MeterPlant

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
START = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def fixture_text(*parts: str) -> str:
    return FIXTURES.joinpath(*parts).read_bytes().decode("ascii")


def flat_household(load_w: float = 600.0, pv_w: float = 0.0, duration_s: int = 7200) -> Household:
    return Household(tuple([load_w] * duration_s), tuple([pv_w] * duration_s), name="flat")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def make_home(clock: ManualClock) -> Callable[..., SimulatedHome]:
    def build(
        *,
        load_w: float = 600.0,
        lag_s: float = 0.0,
        period_s: float = 1.0,
        soc_pct: float = 50.0,
        phase_split: tuple[float, ...] = (1.0,),
        battery: BatteryParams | None = None,
    ) -> SimulatedHome:
        params = battery or BatteryParams(initial_soc_pct=soc_pct)
        return SimulatedHome(
            flat_household(load_w),
            BatteryPlant(params),
            MeterPlant(MeterParams(lag_s=lag_s, period_s=period_s)),
            clock,
            phase_split=phase_split,
        )

    return build


@pytest.fixture
def home(make_home: Callable[..., SimulatedHome]) -> SimulatedHome:
    return make_home()


@pytest.fixture
def started() -> Iterator[Callable[[object], object]]:
    """Start servers and stop them all at the end of the test."""
    running: list[object] = []

    def start(server: object) -> object:
        server.start()  # type: ignore[attr-defined]
        running.append(server)
        return server

    yield start
    for server in reversed(running):
        server.stop()  # type: ignore[attr-defined]
