"""Net-load forecasts learned from the log's meter and battery readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.domain.events import BatteryReading, MeterReading
from controller.planning.forecast import LoadSample, NetLoadProfile, samples_from_events

MONDAY = datetime(2026, 1, 5, 0, tzinfo=UTC)


def test_net_load_adds_what_the_battery_did() -> None:
    events = [
        BatteryReading(at=MONDAY, soc_pct=50, battery_w=400),
        MeterReading(at=MONDAY + timedelta(seconds=1), grid_w=-50),
        MeterReading(at=MONDAY + timedelta(minutes=10), grid_w=100),  # battery reading now stale: skipped
    ]
    samples = samples_from_events(events)
    assert [s.net_load_w for s in samples] == [350]


def test_profile_separates_weekdays_from_weekends_and_falls_back() -> None:
    samples = []
    for day in range(14):
        base = MONDAY + timedelta(days=day)
        weekend = base.weekday() >= 5
        for minute in range(0, 24 * 60, 5):
            at = base + timedelta(minutes=minute)
            samples.append(LoadSample(at, 900.0 if weekend else 300.0))
    profile = NetLoadProfile.learn(samples, "UTC", timedelta(minutes=15), until=MONDAY + timedelta(days=14))
    assert profile.at(MONDAY + timedelta(days=14, hours=9)) == pytest.approx(300)
    assert profile.at(MONDAY + timedelta(days=19, hours=9)) == pytest.approx(900)  # a Saturday
    empty = NetLoadProfile.learn([], "UTC", timedelta(minutes=15), until=MONDAY)
    assert empty.series(MONDAY, 3) == (0.0, 0.0, 0.0)


def test_profile_ignores_samples_outside_its_window() -> None:
    old = [LoadSample(MONDAY - timedelta(days=60) + timedelta(minutes=m), 5000.0) for m in range(0, 60, 5)]
    recent = [LoadSample(MONDAY - timedelta(days=1) + timedelta(minutes=m), 200.0) for m in range(0, 60, 5)]
    profile = NetLoadProfile.learn(old + recent, "UTC", timedelta(minutes=15), until=MONDAY, days=28)
    assert profile.at(MONDAY) == pytest.approx(200)
