"""Backtests on the shipped real traces with real NL day-ahead prices: the plan beats the baselines."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.cli import main
from controller.domain.schedule import Mode, SlotAction
from controller.planning import execute
from controller.planning.backtest import backtest, step_means
from controller.planning.forecast import LoadSample
from controller.planning.history import read_trace, tile_trace
from controller.planning.model import BatteryModel
from controller.prices.files import read_price_file
from controller.prices.tariff import Tariff, apply_tariff

REPO = Path(__file__).resolve().parents[2]
TRACES = REPO / "controller" / "simulation" / "traces"
PRICES = REPO / "tests" / "fixtures" / "prices"
TARIFF = Tariff(margin_eur_per_kwh=0.02, energy_tax_eur_per_kwh=0.10, vat_pct=21, export="market")


def test_step_means_weight_by_time() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    samples = [LoadSample(start, 100.0), LoadSample(start + timedelta(minutes=5), 400.0)]
    assert step_means(samples, start, timedelta(minutes=15), 2) == pytest.approx((300.0, 400.0))


def test_execute_respects_soc_window_and_power() -> None:
    start = datetime(2026, 1, 5, tzinfo=UTC)
    battery = BatteryModel(capacity_wh=1000, max_discharge_w=800, min_soc_pct=10)
    samples = [LoadSample(start + timedelta(minutes=m), 2000.0) for m in range(120)]
    outcome = execute.run(
        samples,
        start + timedelta(hours=2),
        lambda _a, _l: SlotAction(mode=Mode.NETZERO),
        lambda _a: (0.3, 0.0),
        battery,
        50.0,
        0.2,
    )
    assert outcome.soc_end_pct == pytest.approx(10, abs=0.5)
    assert outcome.import_kwh == pytest.approx(4.0 - 0.4 * 0.92, abs=0.02)


def test_rae_household_with_quarter_hour_prices() -> None:
    intervals = apply_tariff(read_price_file(PRICES / "energyzero_quarter_2025-12-16.json"), TARIFF)
    samples = tile_trace(read_trace(TRACES / "rae_household.csv"), intervals[0].start, intervals[-1].end)
    report = backtest(samples, intervals, BatteryModel(), soc_start_pct=30)
    plan, netzero, none = (report.per_day(n) for n in ("plan", "netzero", "no_battery"))
    assert report.days == pytest.approx(1)
    assert plan < netzero < none
    assert any(s.mode is Mode.CHARGE for s in report.slots)


def test_cli_backtest_json(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "plan",
            "--backtest",
            str(TRACES / "cyprus_netload.csv"),
            "--prices",
            str(PRICES / "entsoe_nl_hour_2025-12-16.xml"),
            "--pv-scale",
            "0.45",
            "--soc",
            "50",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["eur_per_day"]) == {"plan", "netzero", "netzero_both", "no_battery"}
    assert report["eur_per_day"]["plan"] <= report["eur_per_day"]["no_battery"]
    assert report["slots"] and all("plan" in s for s in report["slots"])


def test_cli_backtest_needs_prices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "--backtest", str(TRACES / "rae_household.csv")]) == 2
    assert "needs --prices" in capsys.readouterr().err


def test_backtest_of_an_event_log_with_a_learned_profile(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from controller.domain.events import BatteryReading, MeterReading
    from storage.event_log import EventLog

    day = datetime(2025, 12, 15, 23, tzinfo=UTC)
    log = EventLog.open_sqlite(tmp_path / "zsm.db", site_id="home")
    events = []
    for minute in range(0, 8 * 24 * 60, 5):  # a week before the prices, and the price day itself
        at = day - timedelta(days=7) + timedelta(minutes=minute)
        events.append(BatteryReading(at=at, soc_pct=50, battery_w=0))
        events.append(
            MeterReading(at=at + timedelta(seconds=1), grid_w=900.0 if 16 <= at.hour < 20 else 200.0)
        )
    log.append_many(events)
    log.close()
    code = main(
        [
            "plan",
            "--backtest",
            str(tmp_path / "zsm.db"),
            "--prices",
            str(PRICES / "energyzero_quarter_2025-12-16.json"),
            "--forecast",
            "profile",
            "--json",
        ]
    )
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["days"] == pytest.approx(1)
    assert report["eur_per_day"]["plan"] < report["eur_per_day"]["no_battery"]
