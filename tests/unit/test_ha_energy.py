"""Daily energy counters for Home Assistant: integration, avoided import, gaps, local-midnight reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from controller.homeassistant.energy import DailyEnergy

AMS = ZoneInfo("Europe/Amsterdam")
T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def run(
    energy: DailyEnergy, grid_w: float | None, battery_w: float | None, seconds: int, start: datetime
) -> datetime:
    for second in range(seconds + 1):
        energy.add(start + timedelta(seconds=second), grid_w, battery_w)
    return start + timedelta(seconds=seconds)


def test_one_hour_of_import_with_the_battery_discharging() -> None:
    energy = DailyEnergy(AMS)
    run(energy, 600.0, 400.0, 3600, T0)
    totals = energy.totals()
    assert totals is not None
    assert totals.imported_kwh == pytest.approx(0.6)
    assert totals.exported_kwh == 0
    assert totals.avoided_kwh == pytest.approx(0.4)  # without the battery the grid would deliver 1000 W


def test_export_and_charging_from_the_grid_counts_against_avoided() -> None:
    energy = DailyEnergy(AMS)
    end = run(energy, -500.0, 0.0, 1800, T0)
    run(energy, 1200.0, -1000.0, 1800, end)
    totals = energy.totals()
    assert totals is not None
    assert totals.exported_kwh == pytest.approx(0.25)
    assert totals.imported_kwh == pytest.approx(0.6, abs=1e-3)
    # charging 1000 W from the grid: 200 W import without the battery vs 1200 W with it
    assert totals.avoided_kwh == pytest.approx(-0.5, abs=1e-3)


def test_gaps_and_unknown_power_are_not_integrated() -> None:
    energy = DailyEnergy(AMS, max_gap_s=60)
    energy.add(T0, 1000.0, 0.0)
    energy.add(T0 + timedelta(minutes=10), 1000.0, 0.0)  # 10 minutes without news: nothing known
    energy.add(T0 + timedelta(minutes=10, seconds=30), None, None)  # 30 s of 1000 W, then unknown
    energy.add(T0 + timedelta(minutes=11), 1000.0, 0.0)
    totals = energy.totals()
    assert totals is not None
    assert totals.imported_kwh == pytest.approx(1000 * 30 / 3_600_000)


def test_counters_restart_at_local_midnight() -> None:
    energy = DailyEnergy(AMS)
    before = datetime(2026, 12, 4, 22, 59, 0, tzinfo=UTC)  # 23:59 in Amsterdam
    run(energy, 1000.0, 0.0, 120, before)
    totals = energy.totals()
    assert totals is not None
    midnight = datetime(2026, 12, 4, 23, 0, tzinfo=UTC)
    assert totals.day.isoformat() == "2026-12-05"
    assert totals.counting_since == midnight
    assert totals.imported_kwh == pytest.approx(1000 * 60 / 3_600_000)


def test_counting_starts_at_the_first_sample_after_a_start() -> None:
    energy = DailyEnergy(AMS)
    assert energy.totals() is None
    energy.add(T0, 100.0, 0.0)
    totals = energy.totals()
    assert totals is not None and totals.counting_since == T0 and totals.imported_kwh == 0
