"""Short-horizon load predictors (measured against persistence, not used by the regulator)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from controller.simulation.prediction import PREDICTORS, predict, score

REPO = Path(__file__).resolve().parents[2]


def test_persistence_is_exact_on_a_constant_load() -> None:
    x = np.full(1200, 350.0)
    assert score("persistence", x, 22, 0.0, 800.0).residual_wh == 0.0


def test_cycle_repeat_predicts_a_cycling_appliance_that_persistence_misses() -> None:
    t = np.arange(3600)
    x = 200.0 + 500.0 * ((t % 90) < 45)  # a 90 s on/off cycle, faster than lag + dead time
    cycle = score("cycle repeat", x, 22, 0.0, 800.0)
    persistence = score("persistence", x, 22, 0.0, 800.0)
    assert persistence.residual_wh > 50.0
    assert cycle.residual_wh < 0.2 * persistence.residual_wh  # exact after the first 10 minutes


def test_median_of_three_ignores_a_one_second_spike() -> None:
    x = np.full(100, 300.0)
    x[50] = 2000.0
    assert predict("median of 3", x, 12)[50] == 300.0


def test_damped_trend_follows_a_ramp_better_than_persistence() -> None:
    x = np.linspace(0.0, 720.0, 3600)  # 0.2 W/s
    assert (
        score("damped trend 30 s (0.3)", x, 22, 0.0, 800.0).mae_w
        < score("persistence", x, 22, 0.0, 800.0).mae_w
    )


@pytest.mark.parametrize("name", list(PREDICTORS))
def test_predictors_are_causal(name: str) -> None:
    """A guess at t reads nothing after t: changing the future leaves past guesses alone."""
    rng = np.random.default_rng(1)
    x = rng.normal(400.0, 100.0, 1500)
    y = x.copy()
    y[1000:] += 500.0
    assert np.array_equal(predict(name, x, 22)[:1000], predict(name, y, 22)[:1000])


def test_the_benchmark_prints_one_json_object_with_every_predictor() -> None:
    out = subprocess.run(
        [sys.executable, str(REPO / "tools" / "bench_prediction.py"), "--hours", "0.2", "--json"],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    data = json.loads(out.stdout)
    assert {r["predictor"] for r in data["rows"]} == set(PREDICTORS)
    assert {r["trace"] for r in data["rows"]} >= {"rae", "cyprus ×0.45", "synthetic", "synthetic+"}
    assert all(r["vs_persistence"] == 1.0 for r in data["rows"] if r["predictor"] == "persistence")
    assert isinstance(data["winners"], list)
