"""The LP plan: it buys low and covers the house when prices are high, within every limit it was given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.planning.model import BatteryModel, PlanProblem, PlanResult
from controller.planning.solver import solve

START = datetime(2026, 1, 5, 0, tzinfo=UTC)
STEP = timedelta(hours=1)
BATTERY = BatteryModel(
    capacity_wh=2000, max_charge_w=1000, max_discharge_w=800, min_soc_pct=10, max_soc_pct=100
)


def problem(
    prices: list[float],
    load: list[float],
    soc: float = 10.0,
    battery: BatteryModel = BATTERY,
    export: list[float] | None = None,
) -> PlanProblem:
    return PlanProblem(
        start=START,
        step=STEP,
        import_eur_per_kwh=tuple(prices),
        export_eur_per_kwh=tuple(export if export is not None else [0.0] * len(prices)),
        net_load_w=tuple(load),
        soc_now_pct=soc,
        battery=battery,
    )


def check_physics(result: PlanResult, p: PlanProblem) -> None:
    b = p.battery
    for step in result.steps:
        assert step.import_w - step.export_w == pytest.approx(
            step.net_load_w + step.charge_w - step.discharge_w, abs=1e-3
        )
        assert not (step.charge_w > 0 and step.discharge_w > 0)
        assert step.charge_w <= b.max_charge_w + 1e-6 and step.discharge_w <= b.max_discharge_w + 1e-6
        stored = (
            step.soc_start_pct / 100 * b.capacity_wh
            + b.charge_efficiency * step.charge_w
            - step.discharge_w / b.discharge_efficiency
        )
        assert step.soc_end_pct / 100 * b.capacity_wh == pytest.approx(stored, abs=1e-3)
        assert b.min_soc_pct - 1e-6 <= step.soc_end_pct <= b.max_soc_pct + 1e-6


def test_charges_in_the_cheap_night_and_covers_the_expensive_evening() -> None:
    prices = [0.10] * 6 + [0.25] * 12 + [0.45] * 4 + [0.25] * 2
    p = problem(prices, [300.0] * 24)
    result = solve(p)
    check_physics(result, p)
    night = result.steps[:6]
    evening = result.steps[18:22]
    assert sum(s.charge_w for s in night) > 1500
    assert all(s.import_w == 0 for s in evening)  # the battery covers the whole evening load
    assert result.cost_eur < result.cost_without_battery_eur


def test_flat_prices_never_buy_from_the_grid_to_store() -> None:
    p = problem([0.25] * 24, [300.0] * 24)
    result = solve(p)
    check_physics(result, p)
    assert all(s.charge_w == 0 for s in result.steps)


def test_without_grid_charging_only_surplus_is_stored() -> None:
    battery = BATTERY.model_copy(update={"grid_charge": False})
    load = [200.0] * 8 + [-600.0] * 8 + [400.0] * 8
    p = problem([0.10] * 8 + [0.20] * 8 + [0.40] * 8, load, battery=battery)
    result = solve(p)
    check_physics(result, p)
    for step in result.steps:
        assert step.charge_w <= max(-step.net_load_w, 0) + 1e-6


def test_without_export_discharge_the_battery_never_feeds_the_grid() -> None:
    p = problem([0.10] * 12 + [0.60] * 12, [100.0] * 24, soc=100, export=[0.0] * 12 + [0.55] * 12)
    result = solve(p)
    check_physics(result, p)
    assert all(s.export_w == 0 for s in result.steps)
    allowed = BATTERY.model_copy(update={"export_discharge": True})
    p2 = problem(
        [0.10] * 12 + [0.60] * 12, [100.0] * 24, soc=100, battery=allowed, export=[0.0] * 12 + [0.55] * 12
    )
    assert any(s.export_w > 0 for s in solve(p2).steps)


def test_negative_prices_are_used_to_charge() -> None:
    prices = [0.25] * 10 + [-0.05] * 3 + [0.30] * 11
    p = problem(prices, [0.0] * 24, soc=10)
    result = solve(p)
    check_physics(result, p)
    assert all(s.charge_w == 0 for s in result.steps[:10])
    assert result.steps[12].soc_end_pct == pytest.approx(100, abs=0.01)  # filled while paid to take energy


def test_a_start_below_the_minimum_soc_is_still_planned() -> None:
    p = problem([0.2] * 4, [300.0] * 4, soc=3)
    result = solve(p)
    assert result.steps[0].soc_start_pct == pytest.approx(3)
    assert all(s.discharge_w == 0 for s in result.steps)
