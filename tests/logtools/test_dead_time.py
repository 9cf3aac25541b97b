"""Battery dead time and ramp from a log: a simulated battery with a known dead time and ramp, read every
1 s or 5 s."""

from __future__ import annotations

import pytest

from controller.domain.events import EventBase
from controller.logtools.dead_time import estimate_dead_time, format_dead_time, format_ramp
from controller.simulation.closed_loop import Scenario, build_regulator, regulation_for, run_closed_loop
from controller.simulation.plant import BatteryParams, Household, MeterParams

LEVELS = (300.0, 700.0, 200.0, 600.0, 100.0, 500.0) * 3  # 18 load steps, 120 s each


def _log(dead_time_s: float, read_every_s: int, ramp_w_per_s: float = 400.0) -> list[EventBase]:
    scenario = Scenario(
        household=Household(
            tuple(w for w in LEVELS for _ in range(120)), tuple(0.0 for _ in range(120 * len(LEVELS)))
        ),
        battery=BatteryParams(capacity_wh=20000.0, dead_time_s=dead_time_s, ramp_w_per_s=ramp_w_per_s),
        meter=MeterParams(lag_s=10.0),
        battery_read_interval_s=read_every_s,
    )
    regulation = regulation_for(scenario, assume_dead_time_s=2.0)
    log: list[EventBase] = []
    run_closed_loop(scenario, build_regulator("zsm", scenario, regulation), event_sink=log.extend)
    return log


@pytest.mark.parametrize(("dead_time_s", "read_every_s"), [(2.0, 1), (6.0, 1), (10.0, 5)])
def test_dead_time_recovered_within_the_read_resolution(dead_time_s: float, read_every_s: int) -> None:
    report = estimate_dead_time(_log(dead_time_s, read_every_s))

    assert report.dead_time_s is not None and report.steps >= 5
    assert report.dead_time_s == pytest.approx(dead_time_s, abs=max(1.0, read_every_s / 2))
    assert report.confidence >= 0.5
    assert "battery dead time" in format_dead_time(report)


def test_dead_time_unknown_without_writes() -> None:
    report = estimate_dead_time([])
    assert report.dead_time_s is None and report.confidence == 0.0


def test_a_slow_ramp_is_timed_from_the_readings() -> None:
    report = estimate_dead_time(_log(2.0, 1, ramp_w_per_s=50.0))

    assert report.ramp_w_per_s is not None and report.ramp_steps >= 5
    assert report.ramp_w_per_s == pytest.approx(50.0, rel=0.2)
    assert "battery ramp: " in format_ramp(report) and "W/s" in format_ramp(report)


def test_a_fast_ramp_read_every_five_seconds_is_only_bounded_from_below() -> None:
    report = estimate_dead_time(_log(2.0, 5, ramp_w_per_s=400.0))

    assert report.ramp_at_least_w_per_s is not None
    assert report.ramp_at_least_w_per_s <= 400.0  # a lower bound never above the truth
    assert "at least" in format_ramp(report)
