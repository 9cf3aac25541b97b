"""The budgeted lagged oracle writes only as zsm may: dead-band, token bucket, minimum gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.domain.baselines import BudgetedLaggedOracle
from controller.domain.commands import Command
from controller.domain.events import CommandIssued
from controller.domain.regulation import PowerLimits, RegulationMode

T0 = datetime(2026, 6, 1, 12, tzinfo=UTC)
LIMITS = PowerLimits(max_discharge_w=800, max_charge_w=1000)


def _run(load_at: dict[int, float], seconds: int) -> list[tuple[int, float]]:
    """Drive the oracle every second (true load = ``load_at``'s latest step); return its writes."""

    def truth(at: datetime) -> float:
        t = int((at - T0).total_seconds())
        return load_at[max(k for k in load_at if k <= t)] if t >= 0 else load_at[0]

    oracle = BudgetedLaggedOracle(
        truth, lag_s=0.0, deadband_w=25.0, min_write_interval_s=10.0, write_burst=3, min_write_gap_s=2.0
    )
    writes: list[tuple[int, float]] = []
    for t in range(seconds):
        now = T0 + timedelta(seconds=t)
        decision = oracle.decide(now, RegulationMode.NETZERO, LIMITS, 0.0)
        assert decision is not None
        if decision.write:
            writes.append((t, decision.battery_w))
            command = Command.from_battery_w(decision.battery_w)
            oracle.observe(CommandIssued(at=now, command=command, state="NetZero"))
    return writes


def test_small_changes_stay_inside_the_dead_band() -> None:
    writes = _run({0: 300.0, 50: 310.0, 100: 320.0}, 150)
    assert writes == [(0, 300.0)]


def test_a_fast_changing_load_spends_at_most_the_budget() -> None:
    load = {t: 200.0 + 300.0 * (t % 2) for t in range(0, 600)}  # 300 W swings every second
    writes = _run(load, 600)
    times = [t for t, _ in writes]
    assert len(writes) <= 3 + 600 / 10  # the burst, then one per 10 s
    assert all(b - a >= 2 for a, b in zip(times, times[1:], strict=False))
