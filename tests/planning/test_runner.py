"""One planning run from a real SQLite event log and a price file, in frozen time; and when to re-plan."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.domain.events import BatteryReading, MeterReading
from controller.domain.schedule import Mode, Schedule
from controller.planning.runner import needs_replan, run_planner
from controller.prices.fetch import PriceSource
from controller.settings import Settings
from storage.event_log import EventLog

PRICES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "prices"
NOW = datetime(2025, 12, 15, 23, 0, tzinfo=UTC)


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    path = tmp_path / "zsm.db"
    log = EventLog.open_sqlite(path, site_id="home")
    events = []
    for day in range(7, 0, -1):
        base = NOW - timedelta(days=day)
        for minute in range(0, 24 * 60, 10):
            at = base + timedelta(minutes=minute)
            evening = 16 <= at.hour < 21
            events.append(BatteryReading(at=at, soc_pct=40, battery_w=0))
            events.append(MeterReading(at=at + timedelta(seconds=1), grid_w=900.0 if evening else 250.0))
    events.append(BatteryReading(at=NOW - timedelta(seconds=5), soc_pct=35, battery_w=0))
    log.append_many(events)
    log.close()
    return path


def test_plan_from_log_and_price_file(log_path: Path) -> None:
    settings = Settings(planner={"horizon_h": 36})  # type: ignore[arg-type]
    run = run_planner(
        settings,
        ManualClock(NOW),
        source=PriceSource(),
        price_file=PRICES / "energyzero_hour_2025-12-16.json",
        log_path=log_path,
    )
    assert run.plan.steps[0].soc_start_pct == pytest.approx(35)
    assert len(run.plan.steps) == 36 * 4
    assert run.prices.kind == "prices_received" and len(run.prices.intervals) == 72
    evening = [s for s in run.plan.steps if 16 <= s.start.hour < 20 and s.start.day == 16]
    assert sum(s.net_load_w for s in evening) / len(evening) == pytest.approx(900)
    assert any(s.mode is Mode.NETZERO for s in run.schedule.dated)
    assert isinstance(Schedule.model_validate_json(run.schedule.model_dump_json()), Schedule)


def test_stale_prices_are_refused(log_path: Path) -> None:
    with pytest.raises(ValueError, match="no prices from"):
        run_planner(
            Settings(),
            ManualClock(NOW + timedelta(days=5)),
            source=PriceSource(),
            price_file=PRICES / "energyzero_quarter_2025-12-16.json",
            log_path=log_path,
        )


def test_needs_replan_on_new_prices_and_soc_drift(log_path: Path) -> None:
    run = run_planner(
        Settings(),
        ManualClock(NOW),
        source=PriceSource(),
        price_file=PRICES / "energyzero_hour_2025-12-16.json",
        log_path=log_path,
    )
    later = NOW + timedelta(minutes=20)
    expected = run.plan.steps[1].soc_start_pct
    assert needs_replan(None, None, None, later, 35, 10) == "no plan yet"
    assert needs_replan(run.plan, NOW, NOW + timedelta(hours=13), later, expected, 10) == "new prices"
    assert needs_replan(run.plan, NOW, NOW, later, expected, 10) is None
    assert "off the planned" in (needs_replan(run.plan, NOW, NOW, later, expected + 30, 10) or "")
    assert needs_replan(run.plan, NOW, NOW, NOW + timedelta(days=3), None, 10) == "plan ran out"


def test_needs_replan_when_the_load_drifts_from_the_forecast(log_path: Path) -> None:
    from controller.planning.forecast import LoadSample

    run = run_planner(
        Settings(),
        ManualClock(NOW),
        source=PriceSource(),
        price_file=PRICES / "energyzero_hour_2025-12-16.json",
        log_path=log_path,
    )
    later = NOW + timedelta(minutes=40)
    expected = run.plan.steps[2].soc_start_pct + (
        run.plan.steps[2].soc_end_pct - run.plan.steps[2].soc_start_pct
    ) * (10 / 15)
    near = [LoadSample(NOW + timedelta(minutes=m), 260.0) for m in range(0, 40, 5)]
    far = [LoadSample(NOW + timedelta(minutes=m), 1500.0) for m in range(0, 40, 5)]
    assert needs_replan(run.plan, NOW, NOW, later, expected, 10, near, 300) is None
    assert "off the forecast" in (needs_replan(run.plan, NOW, NOW, later, expected, 10, far, 300) or "")
