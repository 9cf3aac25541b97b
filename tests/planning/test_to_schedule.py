"""From planned flows to schedule slots: mode table, merged neighbours, notes, a person's slots winning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.domain.schedule import DatedSlot, Mode, Schedule
from controller.planning.model import BatteryModel, PlanProblem, PlanResult, PlanStep
from controller.planning.solver import solve
from controller.planning.to_schedule import merge_into, planned_slots, step_action

START = datetime(2026, 1, 5, 0, tzinfo=UTC)


def step(charge: float = 0, discharge: float = 0, load: float = 300, at: int = 0) -> PlanStep:
    start = START + timedelta(minutes=15 * at)
    grid = load + charge - discharge
    return PlanStep(
        start,
        start + timedelta(minutes=15),
        charge,
        discharge,
        max(grid, 0),
        max(-grid, 0),
        load,
        50,
        50,
        0.2,
        0.0,
    )


@pytest.mark.parametrize(
    ("planned", "mode", "power", "cap"),
    [
        (step(charge=800), Mode.CHARGE, 800, None),
        (step(charge=400, load=-500), Mode.NETZERO_PLUS, None, 400),
        (step(charge=500, load=-500), Mode.NETZERO_PLUS, None, None),
        (step(discharge=800, load=300), Mode.DISCHARGE, 800, None),
        (step(discharge=300, load=300), Mode.NETZERO, None, None),
        (step(discharge=150, load=300), Mode.NETZERO, None, 150),
        (step(), Mode.STANDBY, None, None),
        (step(charge=5), Mode.STANDBY, None, None),
    ],
)
def test_step_action_table(planned: PlanStep, mode: Mode, power: int | None, cap: int | None) -> None:
    action = step_action(planned)
    assert (action.mode, action.power_w, action.max_w) == (mode, power, cap)


def solved() -> PlanResult:
    prices = [0.10] * 24 + [0.25] * 48 + [0.45] * 16 + [0.25] * 8
    problem = PlanProblem(
        start=START,
        step=timedelta(minutes=15),
        import_eur_per_kwh=tuple(prices),
        export_eur_per_kwh=(0.0,) * 96,
        net_load_w=(300.0,) * 96,
        soc_now_pct=10,
        battery=BatteryModel(),
    )
    return solve(problem)


def test_planned_slots_merge_neighbours_and_say_why() -> None:
    slots = planned_slots(solved(), "Europe/Amsterdam")
    assert len(slots) < 20
    assert all(a.end == b.start for a, b in zip(slots, slots[1:], strict=False))
    charge = [s for s in slots if s.mode is Mode.CHARGE]
    assert charge and all(s.plan is not None and "buy cheap" in s.plan.reason for s in charge)
    cover = [s for s in slots if s.mode is Mode.NETZERO]
    assert cover and all(s.plan is not None and (s.plan.expected_saving_eur or 0) > 0 for s in cover)
    schedule = merge_into(Schedule(), slots)
    assert all(s.start < START + timedelta(hours=6) for s in charge)  # only in the cheap night
    assert schedule.slot_at(START + timedelta(hours=19)).mode is Mode.NETZERO


def test_a_persons_slots_win_and_old_planned_slots_go() -> None:
    person = {
        "timezone": "Europe/Amsterdam",
        "recurring": [
            {"id": "evening", "days": ["mon"], "start": "19:00", "end": "20:00", "mode": "standby"}
        ],
        "dated": [
            {
                "id": "mine",
                "start": "2026-01-05T02:00",
                "end": "2026-01-05T03:00",
                "mode": "discharge",
                "power_w": 100,
            },
            {
                "id": "old-plan",
                "start": "2026-01-06T02:00",
                "end": "2026-01-06T03:00",
                "mode": "charge",
                "power_w": 100,
                "plan": {"planner": "zsm plan"},
            },
        ],
    }
    merged = merge_into(Schedule.model_validate(person), planned_slots(solved(), "Europe/Amsterdam"))
    ids = {s.id for s in merged.dated}
    assert "mine" in ids and "old-plan" not in ids
    local = merged.tz
    assert merged.slot_at(datetime(2026, 1, 5, 2, 30, tzinfo=local)).label == "mine"
    assert merged.slot_at(datetime(2026, 1, 5, 19, 30, tzinfo=local)).label == "evening"
    assert merged.slot_at(datetime(2026, 1, 5, 20, 30, tzinfo=local)).mode is Mode.NETZERO


def test_slots_across_the_autumn_dst_change_are_valid() -> None:
    start = datetime(2026, 10, 24, 22, tzinfo=UTC)  # local midnight, a 25-hour day follows
    prices = [0.1] * 40 + [0.4] * 60
    problem = PlanProblem(
        start=start,
        step=timedelta(minutes=15),
        import_eur_per_kwh=tuple(prices),
        export_eur_per_kwh=(0.0,) * 100,
        net_load_w=(250.0,) * 100,
        soc_now_pct=20,
        battery=BatteryModel(),
    )
    slots = planned_slots(solve(problem), "Europe/Amsterdam")
    schedule = merge_into(Schedule(), slots)
    assert slots[-1].end == start + timedelta(hours=25)
    assert sum(((s.end - s.start) for s in schedule.dated), timedelta()) == timedelta(hours=25)
    assert isinstance(schedule.dated[0], DatedSlot)
