"""Closed-loop regression: zsm's avoidable grid energy must not get more than 10 % worse than recorded.

The recorded figures live in ``regression_baseline.json``. After a deliberate improvement, lower them
(run this file with ``ZSM_RECORD_REGRESSION=1`` to print the new figures).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from controller.domain.regulation import RegulationMode
from controller.simulation.closed_loop import Scenario, build_regulator, regulation_for, run_closed_loop
from controller.simulation.plant import BatteryParams, Household, MeterParams, load_trace, synthetic_household
from tests.conftest import shared_trace

BASELINE = Path(__file__).with_name("regression_baseline.json")
TOLERANCE = 1.10
BATTERY = BatteryParams(capacity_wh=20000.0)


def _cases() -> dict[str, tuple[str, str]]:
    return {
        "synthetic7_2h_lag20_netzero": ("synthetic", "20"),
        "synthetic7_2h_lag20_auto": ("synthetic", "auto"),
        "rae_first2h_lag20_netzero": ("rae", "20"),
    }


def _household(kind: str) -> Household:
    if kind == "synthetic":
        return synthetic_household(seed=7, duration_s=2 * 3600, start_hour=7.0)
    return load_trace(shared_trace("rae_household.csv")).window(0, 2 * 3600)


@pytest.mark.parametrize("case", sorted(_cases()))
def test_zsm_residual_not_worse_than_recorded(case: str) -> None:
    kind, assume = _cases()[case]
    scenario = Scenario(
        household=_household(kind),
        battery=BATTERY,
        meter=MeterParams(lag_s=20.0),
        mode=RegulationMode.NETZERO,
    )
    lag: float | str = "auto" if assume == "auto" else float(assume)
    regulator = build_regulator("zsm", scenario, regulation_for(scenario, assume_lag=lag))
    metrics = run_closed_loop(scenario, regulator, controller="zsm").metrics
    if os.environ.get("ZSM_RECORD_REGRESSION"):
        print(
            json.dumps({case: {"avoidable_wh": metrics.avoidable_wh, "writes_per_h": metrics.writes_per_h}})
        )
    recorded = json.loads(BASELINE.read_text(encoding="utf-8"))[case]
    assert metrics.avoidable_wh <= recorded["avoidable_wh"] * TOLERANCE, (
        f"{case}: avoidable {metrics.avoidable_wh} Wh > {TOLERANCE} x recorded {recorded['avoidable_wh']} Wh"
    )
    assert metrics.writes_per_h <= max(recorded["writes_per_h"] * TOLERANCE, 1.0)
