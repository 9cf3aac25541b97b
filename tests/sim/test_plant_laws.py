"""The plant obeys its laws, checked from the per-second CSV of closed-loop runs and on the models."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.domain.regulation import RegulationMode
from controller.settings import LimitSettings
from controller.simulation.closed_loop import Scenario, build_regulator, regulation_for, run_closed_loop
from controller.simulation.plant import (
    BatteryParams,
    BatteryPlant,
    Household,
    MeterParams,
    MeterPlant,
    TraceFormatError,
    load_trace,
    synthetic_household,
)
from controller.simulation.timeseries import CSV_COLUMNS, SimSeries, read_csv, write_csv

BATTERY = BatteryParams(capacity_wh=1920.0, initial_soc_pct=60.0, dead_time_s=2.0, ramp_w_per_s=400.0)


def _run_to_csv(tmp_path: Path, controller: str, scenario: Scenario) -> SimSeries:
    regulator = build_regulator(controller, scenario, regulation_for(scenario))  # type: ignore[arg-type]
    result = run_closed_loop(scenario, regulator, controller=controller)
    path = tmp_path / f"{controller}.csv"
    write_csv(result.series, path)
    header = path.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert tuple(header) == CSV_COLUMNS
    series = read_csv(path)
    series.commands = result.series.commands
    return series


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Scenario, SimSeries]]:
    tmp = tmp_path_factory.mktemp("laws")
    house = synthetic_household(seed=3, duration_s=3 * 3600, start_hour=9.0, pv_peak_w=1200.0)
    out: dict[str, tuple[Scenario, SimSeries]] = {}
    for mode in (RegulationMode.NETZERO, RegulationMode.NETZERO_PLUS):
        for controller in ("naive", "zsm"):
            scenario = Scenario(household=house, battery=BATTERY, meter=MeterParams(lag_s=10.0), mode=mode)
            out[f"{controller}-{mode.value}"] = (scenario, _run_to_csv(tmp, controller, scenario))
    return out


def test_grid_is_load_minus_pv_minus_battery_each_second(runs: dict[str, tuple[Scenario, SimSeries]]) -> None:
    for name, (_, s) in runs.items():
        for i in range(len(s)):
            assert abs(s.grid_w[i] - (s.load_w[i] - s.pv_w[i] - s.battery_w[i])) < 1e-6, (name, i)


def test_battery_within_limits_and_start_threshold(runs: dict[str, tuple[Scenario, SimSeries]]) -> None:
    for name, (scenario, s) in runs.items():
        p = scenario.battery
        for b in s.battery_w:
            assert -p.max_charge_w <= b <= p.max_discharge_w, name
            assert b == 0 or abs(b) >= p.start_threshold_w, name
        assert any(b != 0 for b in s.battery_w), name


def test_ramp_rate_is_respected(runs: dict[str, tuple[Scenario, SimSeries]]) -> None:
    for name, (scenario, s) in runs.items():
        ramp = scenario.battery.ramp_w_per_s
        threshold = scenario.battery.start_threshold_w
        for i in range(1, len(s)):
            step = abs(s.battery_w[i] - s.battery_w[i - 1])
            # A stopping battery drops out once below its start threshold (it cannot run below it).
            limit = ramp + threshold if s.battery_w[i] == 0 else ramp
            assert step <= limit + 1e-6, (name, i)


def test_output_changes_only_after_the_dead_time(runs: dict[str, tuple[Scenario, SimSeries]]) -> None:
    for name, (scenario, s) in runs.items():
        dead = scenario.battery.dead_time_s
        commands = s.commands
        for i in range(1, len(s)):
            if s.battery_w[i] == s.battery_w[i - 1]:
                continue
            # Some command must have acted (issued at least dead time before the previous second).
            assert any(t + dead <= i - 1 + 1e-9 for t, _ in commands), (name, i)
        # The output never moves toward a set-point issued less than the dead time ago.
        first_cmd = next(t for t, w in commands if w != 0)
        first_move = next(i for i in range(len(s)) if s.battery_w[i] != 0)
        assert first_move >= first_cmd + dead + 1, name


def test_soc_bounds_and_cut_off(tmp_path: Path) -> None:
    battery = BatteryParams(capacity_wh=100.0, initial_soc_pct=30.0, min_soc_pct=10.0, max_soc_pct=90.0)
    house = Household(load_w=(600.0,) * 1800, pv_w=(0.0,) * 1800)
    limits = LimitSettings(min_soc_pct=5.0, max_soc_pct=95.0)  # the device cut-off acts first
    scenario = Scenario(household=house, battery=battery, meter=MeterParams(lag_s=2.0), limits=limits)
    s = _run_to_csv(tmp_path, "oracle", scenario)
    step_pct = 100.0 * battery.max_discharge_w / 3600.0 / battery.discharge_efficiency / battery.capacity_wh
    assert min(s.soc_pct) >= battery.min_soc_pct - step_pct
    reached = next(i for i, soc in enumerate(s.soc_pct) if soc <= battery.min_soc_pct + 1e-6)
    assert all(b <= 0 for b in s.battery_w[reached + 1 :])
    # and charging stops at the top
    plant = BatteryPlant(
        BatteryParams(capacity_wh=100.0, initial_soc_pct=85.0, max_soc_pct=90.0, dead_time_s=0)
    )
    plant.command(-1000.0, at=0.0)
    for t in range(1, 120):
        plant.step(float(t))
        assert plant.soc_pct <= 90.0 + 100.0 * 1000 / 3600 / 100.0
    assert plant.battery_w == 0.0 and plant.soc_limit == 1 and plant.live_max_charge_w == 0.0


def test_dead_time_ramp_and_threshold_on_the_model() -> None:
    plant = BatteryPlant(BatteryParams(dead_time_s=3.0, ramp_w_per_s=200.0, start_threshold_w=60.0))
    plant.command(700.0, at=10.0)
    outputs = {t: plant.step(float(t)) for t in range(0, 20)}
    assert all(outputs[t] == 0.0 for t in range(0, 14))  # acts at 13, ramps from then on
    assert [outputs[t] for t in (14, 15, 16, 17)] == [200.0, 400.0, 600.0, 700.0]
    plant.command(40.0, at=20.0)  # below the start threshold: no output
    for t in range(20, 30):
        plant.step(float(t))
    assert plant.battery_w == 0.0


def test_quantisation_and_live_limits() -> None:
    plant = BatteryPlant(BatteryParams(quantum_w=30.0, dead_time_s=0.0))
    plant.command(-437.0, at=0.0)
    for t in range(1, 6):
        plant.step(float(t))
    assert plant.battery_w == -450.0
    plant.set_live_limits(max_charge_w=200.0)
    plant.step(6.0)
    assert plant.battery_w == -210.0  # clamped to 200, then quantised to the 30 W grid
    assert plant.live_max_charge_w == 200.0


def _meter_values(params: MeterParams, grid: list[float]) -> list[tuple[float, float]]:
    meter = MeterPlant(params)
    out = []
    for t, g in enumerate(grid):
        meter.record(float(t), g)
        out.extend((tg.at_s, tg.grid_w) for tg in meter.poll(float(t)))
    return out


def test_meter_lag_refresh_drops_and_drift() -> None:
    grid = [float(t * 10) for t in range(400)]
    lagged = _meter_values(MeterParams(lag_s=7.0), grid)
    assert all(v == max(0.0, (t - 7) * 10) for t, v in lagged)
    refreshed = _meter_values(MeterParams(lag_s=0.0, refresh_s=10.0), grid)
    assert len(refreshed) == 400
    assert all(v == (t // 10) * 100 for t, v in refreshed)
    dropped = _meter_values(MeterParams(lag_s=0.0, drop_prob=0.3, seed=1), grid)
    assert 200 < len(dropped) < 350
    meter = MeterPlant(MeterParams(lag_mode="drift", lag_min_s=15.0, lag_max_s=25.0, drift_period_s=600.0))
    lags = [meter.lag_at(float(t)) for t in range(0, 1200, 7)]
    assert min(lags) >= 15.0 and max(lags) <= 25.0 and max(lags) - min(lags) > 9.0
    ten_s = _meter_values(MeterParams(lag_s=0.0, period_s=10.0), grid)
    assert [t for t, _ in ten_s][:3] == [0.0, 10.0, 20.0]


def test_meter_is_deterministic_with_a_seed() -> None:
    grid = [500.0] * 300
    params = MeterParams(noise_w=20.0, spike_prob=0.05, drop_prob=0.05, seed=42)
    assert _meter_values(params, grid) == _meter_values(params, grid)


def test_trace_loader_step_hold_and_comments(tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("# a comment\nt_s,watts\n0,100\n3,250\n# mid comment\n6,50\n", encoding="utf-8")
    house = load_trace(one)
    assert house.load_w == (100.0, 100.0, 100.0, 250.0, 250.0, 250.0, 50.0, 50.0, 50.0)
    assert house.pv_w == (0.0,) * 9
    two = tmp_path / "two.csv"
    two.write_text("t_s,load_w,pv_w\n0,400,1000\n30,500,900\n", encoding="utf-8")
    pv = load_trace(two, scale=0.5)
    assert pv.duration_s == 60 and pv.load_at(29) == 200.0 and pv.pv_at(30) == 450.0
    assert pv.net_at(1000) == 250.0 - 450.0  # holds the last value
    bad = tmp_path / "bad.csv"
    bad.write_text("t_s,watts\n0,1\n0,2\n", encoding="utf-8")
    with pytest.raises(TraceFormatError):
        load_trace(bad)
    bad.write_text("time,watts\n0,1\n", encoding="utf-8")
    with pytest.raises(TraceFormatError):
        load_trace(bad)


def test_synthetic_household_is_seeded() -> None:
    a = synthetic_household(5, 3600)
    assert a == synthetic_household(5, 3600)
    assert a != synthetic_household(6, 3600)
    assert min(a.load_w) >= 0 and a.duration_s == 3600
