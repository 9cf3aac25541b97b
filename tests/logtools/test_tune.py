"""Tune: the household rebuilt from a log matches the plant's, and a tiny grid search ranks its runs."""

from __future__ import annotations

import json

import pytest

from controller.cli import main
from controller.logtools.common import open_log
from controller.logtools.tune import TuneGrid, current_params, format_tune, parameter_sets, reconstruct, tune
from controller.settings import Settings
from tests.logtools._plant_daemon import PlantRun
from tests.logtools._scenario import PLANT_LAG_S, household


def _reconstruction(run: PlantRun):  # type: ignore[no-untyped-def]
    log = open_log(run.path)
    try:
        events = [stored.event for stored in log.iter_events()]
    finally:
        log.close()
    return reconstruct(events, PLANT_LAG_S)


def test_reconstruction_matches_the_true_household(netzero_log: PlantRun) -> None:
    rebuilt = _reconstruction(netzero_log)
    truth = household()
    offset = round((rebuilt.start - netzero_log.t0).total_seconds())
    errors = [
        abs(rebuilt.household.net_at(j) - truth.net_at(offset + j))
        for j in range(rebuilt.household.duration_s)
        if 0 <= offset + j < netzero_log.seconds - 1
    ]
    assert len(errors) > 1000
    assert sum(errors) / len(errors) < 10.0  # W, mean absolute error
    assert rebuilt.mode.value == "netzero"


def test_parameter_sets_are_thinned_and_keep_the_current_settings() -> None:
    current = current_params(Settings().regulation)
    grid = TuneGrid(deadband_w=(10, 20, 30), min_write_interval_s=(5, 10), target_offset_w=(0, 5))
    sets = parameter_sets(grid, current, max_runs=5)
    assert len(sets) == 5 and sets[0] == current and len(set(sets)) == 5


def test_tune_ranks_a_tiny_grid(netzero_log: PlantRun) -> None:
    settings = Settings()
    grid = TuneGrid(
        deadband_w=(15.0, 40.0), min_write_interval_s=(10.0,), target_offset_w=(0.0,), lag_s=("auto", 20.0)
    )
    seen: list[str] = []

    report = tune(
        _reconstruction(netzero_log),
        settings.regulation,
        settings.limits,
        grid,
        max_runs=4,
        progress=lambda run: seen.append(run.params.label()),
    )

    assert len(report.runs) == len(seen) == 4
    assert sum(run.current for run in report.runs) == 1
    keys = [(r.over_budget, r.metrics.avoidable_wh, r.metrics.writes_per_h) for r in report.runs]
    assert keys == sorted(keys)
    table = format_tune(report, top=3)
    assert "rank" in table and "avoid Wh" in table and "current" in table


def test_cli_tune(netzero_log: PlantRun, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["tune", str(netzero_log.path), "--deadband", "20,40", "--interval", "10", "--offset", "0"]
    assert main([*args, "--lag-values", "auto,20", "--max-runs", "3", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data["runs"]) == 3
    assert data["plant_lag_s"] == pytest.approx(PLANT_LAG_S, abs=1.0)
