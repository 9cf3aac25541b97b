"""Replaying a recorded period: the plan vs NetZero all day vs no battery, in euros per day.

The plan is solved once over the whole price window from a forecast, then carried out interval by interval
on the recorded net load (:mod:`.execute`). Forecast ``perfect`` is the recorded load averaged per step (an
upper bound: the plan knows each step's mean, not the spikes inside it); ``profile`` learns the weekday /
weekend profile from the log before the window (needs an event log with earlier days). Energy left in the
battery at the end counts at the planner's terminal value, so strategies that end fuller or emptier are
compared fairly.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from controller.domain.events import PriceInterval
from controller.domain.schedule import DatedSlot, Mode, SlotAction
from controller.planning import execute
from controller.planning.forecast import LoadSample, NetLoadProfile
from controller.planning.model import BatteryModel, PlanProblem, PlanResult
from controller.planning.solver import solve, terminal_value_eur_per_kwh
from controller.planning.to_schedule import planned_slots
from controller.prices.table import PriceTable

__all__ = ["BacktestReport", "Forecast", "backtest", "step_means"]

Forecast = Literal["perfect", "profile"]
_STANDBY = SlotAction(mode=Mode.STANDBY)
_NETZERO = SlotAction(mode=Mode.NETZERO)
_NETZERO_PLUS = SlotAction(mode=Mode.NETZERO_PLUS)


@dataclass(frozen=True, slots=True)
class BacktestReport:
    """Outcomes per strategy over ``days`` days, and the plan that was carried out."""

    start: datetime
    end: datetime
    days: float
    outcomes: dict[str, execute.Outcome]
    plan: PlanResult
    slots: list[DatedSlot]
    stored_value_eur_per_kwh: float

    def per_day(self, name: str) -> float:
        """Net cost of strategy ``name`` in EUR per day."""
        return self.outcomes[name].net_cost_eur / self.days


def step_means(
    samples: Sequence[LoadSample], start: datetime, step: timedelta, count: int
) -> tuple[float, ...]:
    """Time-weighted mean net load of each step (a sample holds until the next one)."""
    sums = [0.0] * count
    covered = [0.0] * count
    for index, sample in enumerate(samples):
        until = samples[index + 1].at if index + 1 < len(samples) else start + count * step
        at = sample.at
        while at < until:
            slot = int((at - start) / step)
            if not 0 <= slot < count:
                break
            boundary = min(until, start + (slot + 1) * step)
            seconds = (boundary - at).total_seconds()
            sums[slot] += sample.net_load_w * seconds
            covered[slot] += seconds
            at = boundary
    return tuple(s / c if c else 0.0 for s, c in zip(sums, covered, strict=True))


def _slot_lookup(slots: list[DatedSlot]) -> Callable[[datetime, float], SlotAction]:
    starts = [slot.start for slot in slots]

    def action_at(at: datetime, _load_w: float) -> SlotAction:
        index = bisect.bisect_right(starts, at) - 1
        if index >= 0 and at < slots[index].end:
            return slots[index]
        return _STANDBY

    return action_at


def backtest(
    samples: Sequence[LoadSample],
    prices: Sequence[PriceInterval],
    battery: BatteryModel,
    soc_start_pct: float,
    *,
    step: timedelta = timedelta(minutes=15),
    timezone: str = "Europe/Amsterdam",
    forecast: Forecast = "perfect",
    history: Sequence[LoadSample] = (),
) -> BacktestReport:
    """Plan over the price window and price every strategy on ``samples``."""
    table = PriceTable(prices)
    start, end = table.start, table.end
    count = int((end - start) / step)
    end = start + count * step
    window = [s for s in samples if start <= s.at < end]
    if not window:
        raise ValueError("no recorded load inside the price window")
    if forecast == "perfect":
        load = step_means(window, start, step, count)
    else:
        if not history:
            raise ValueError("forecast 'profile' needs history before the price window")
        load = NetLoadProfile.learn(history, timezone, step, until=start).series(start, count)
    imports, exports = table.steps(start, step, count)
    problem = PlanProblem(
        start=start,
        step=step,
        import_eur_per_kwh=tuple(imports),
        export_eur_per_kwh=tuple(exports),
        net_load_w=load,
        soc_now_pct=soc_start_pct,
        battery=battery,
    )
    plan = solve(problem)
    slots = planned_slots(plan, timezone)
    value = terminal_value_eur_per_kwh(problem)

    def run(action_at: Callable[[datetime, float], SlotAction]) -> execute.Outcome:
        return execute.run(window, end, action_at, table.at, battery, soc_start_pct, value)

    outcomes = {
        "plan": run(_slot_lookup(slots)),
        "netzero": run(lambda _at, _load: _NETZERO),
        "netzero_both": run(lambda _at, load: _NETZERO if load >= 0 else _NETZERO_PLUS),
        "no_battery": run(lambda _at, _load: _STANDBY),
    }
    return BacktestReport(
        start=start,
        end=end,
        days=(end - start).total_seconds() / 86_400,
        outcomes=outcomes,
        plan=plan,
        slots=slots,
        stored_value_eur_per_kwh=value,
    )
