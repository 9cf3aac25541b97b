"""Lag: the tool recovers the plant's meter lag from a daemon log."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from controller.cli import main
from controller.domain.events import EventBase, MeterReading
from controller.logtools.common import open_log
from controller.logtools.lag import estimate_lag, estimate_lag_windows, format_lag
from controller.simulation.plant import MeterParams
from tests.logtools._plant_daemon import PlantRun, run_daemon
from tests.logtools._scenario import PLANT_LAG_S, household, netzero_settings


def _events(run: PlantRun) -> list[EventBase]:
    log = open_log(run.path)
    try:
        return [stored.event for stored in log.iter_events()]
    finally:
        log.close()


def test_lag_recovers_the_plant_lag(netzero_log: PlantRun) -> None:
    report = estimate_lag(_events(netzero_log))

    assert report.lag_s == pytest.approx(PLANT_LAG_S, abs=1.0)
    assert report.confidence >= 0.3
    assert report.xcorr_lag_s == pytest.approx(PLANT_LAG_S, abs=1.0)
    assert report.xcorr_gain > 0.7  # the meter echoes most of each battery step
    assert "meter lag: 20" in format_lag(report)


def test_lag_recovers_a_short_lag(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "short.db"
    t0 = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    schedule = {"timezone": "UTC", "default": {"mode": "netzero"}}
    run = run_daemon(
        path, netzero_settings(path), household(), schedule, t0, seconds=900, meter=MeterParams(lag_s=7.0)
    )

    report = estimate_lag(_events(run))

    assert report.lag_s == pytest.approx(7.0, abs=1.0)


def test_lag_without_battery_movement_is_unknown() -> None:
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    events = [MeterReading(at=t0 + timedelta(seconds=k), grid_w=200.0 + k % 7) for k in range(300)]

    report = estimate_lag(events)

    assert report.lag_s is None and report.confidence == 0.0
    assert "unknown" in format_lag(report)


def test_cli_lag(netzero_log: PlantRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lag", str(netzero_log.path), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["lag_s"] == pytest.approx(PLANT_LAG_S, abs=1.0)
    assert 0 <= data["confidence"] <= 1


def test_lag_per_window(netzero_log: PlantRun, capsys: pytest.CaptureFixture[str]) -> None:
    reports = estimate_lag_windows(_events(netzero_log), timedelta(minutes=10))

    assert len(reports) == 3
    known = [r for r in reports if r.lag_s is not None and r.confidence >= 0.3]
    assert known and all(r.lag_s == pytest.approx(PLANT_LAG_S, abs=1.5) for r in known)

    assert main(["lag", str(netzero_log.path), "--window", "10"]) == 0
    assert "window start" in capsys.readouterr().out
