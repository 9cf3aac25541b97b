"""One planning run: prices, forecast and SoC in, a merged schedule and the ``prices_received`` event out.

Used by ``zsm plan`` and by whatever runs the planner on a timer (server per site, or the daemon with no
server). :func:`needs_replan` says when to run again: new prices, or the SoC drifted from the plan.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from controller.clock import Clock
from controller.domain.events import PricesReceived
from controller.domain.schedule import Schedule
from controller.planning.forecast import LoadSample, NetLoadProfile
from controller.planning.history import load_samples
from controller.planning.model import PlanProblem, PlanResult
from controller.planning.settings_bridge import battery_model, tariff
from controller.planning.solver import solve
from controller.planning.to_schedule import merge_into, planned_slots
from controller.prices.fetch import PriceSource, fetch_prices, prices_event
from controller.prices.files import read_price_file
from controller.prices.model import MarketPrice
from controller.prices.table import PriceTable
from controller.settings import Settings

__all__ = ["PlanRun", "last_soc", "needs_replan", "plan_from", "plan_schedule", "plan_start", "run_planner"]

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PlanRun:
    """The merged schedule, the solved plan and the prices event that fed it."""

    schedule: Schedule
    plan: PlanResult
    prices: PricesReceived


def last_soc(log_path: Path, site_id: str) -> float | None:
    """The SoC of the log's newest battery reading."""
    from controller.logtools.common import open_log

    log = open_log(log_path, site_id)
    try:
        last = log.last_of_kind("battery_reading")
    finally:
        log.close()
    soc = getattr(last.event, "soc_pct", None) if last is not None else None
    return float(soc) if soc is not None else None


def plan_start(now: datetime, step: timedelta) -> datetime:
    """The start of the step holding ``now``."""
    seconds = step.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // seconds * seconds, tz=now.tzinfo)


def run_planner(
    settings: Settings,
    clock: Clock,
    *,
    source: PriceSource,
    price_file: Path | None = None,
    market: list[MarketPrice] | None = None,
    log_path: Path | None = None,
    soc_pct: float | None = None,
    base: Schedule | None = None,
) -> PlanRun:
    """Plan from now to the horizon (or the last known price) and merge into ``base``.

    Prices come from ``market`` when given, else from ``price_file``, else they are fetched from ``source``.
    """
    planner = settings.planner
    now = clock.now()
    step = timedelta(minutes=planner.step_min)
    start = plan_start(now, step)
    horizon_end = start + timedelta(hours=planner.horizon_h)
    if market is None:
        market = (
            read_price_file(price_file)
            if price_file is not None
            else fetch_prices(source, start - timedelta(hours=24), horizon_end)
        )
    log = log_path if log_path is not None else settings.database_path
    samples: list[LoadSample] = []
    if log.is_file():
        samples = load_samples(log, start - timedelta(days=planner.history_days), start, settings.site_id)
        if soc_pct is None:
            soc_pct = last_soc(log, settings.site_id)
    if soc_pct is None:
        raise ValueError("SoC unknown: no battery reading in the log; pass --soc")
    return plan_from(
        settings, clock, source=source, market=market, samples=samples, soc_pct=soc_pct, base=base
    )


def plan_from(
    settings: Settings,
    clock: Clock,
    *,
    source: PriceSource,
    market: list[MarketPrice],
    samples: list[LoadSample],
    soc_pct: float,
    base: Schedule | None = None,
) -> PlanRun:
    """Plan from now with known prices, load history and SoC; merge into ``base``."""
    planner = settings.planner
    now = clock.now()
    step = timedelta(minutes=planner.step_min)
    start = plan_start(now, step)
    horizon_end = start + timedelta(hours=planner.horizon_h)
    event = prices_event(now, source, market, tariff(settings))
    table = PriceTable(event.intervals)
    end = min(horizon_end, table.end)
    count = int((end - start) / step)
    if count < 1 or not table.covers(start, start + count * step):
        raise ValueError(f"no prices from {start.isoformat()} on (known until {table.end.isoformat()})")
    if not samples:
        LOGGER.warning("no load history: planning with zero net load (price arbitrage only)")
    profile = NetLoadProfile.learn(samples, planner.timezone, step, until=start, days=planner.history_days)
    imports, exports = table.steps(start, step, count)
    problem = PlanProblem(
        start=start,
        step=step,
        import_eur_per_kwh=tuple(imports),
        export_eur_per_kwh=tuple(exports),
        net_load_w=profile.series(start, count),
        soc_now_pct=soc_pct,
        battery=battery_model(settings),
    )
    plan = solve(problem, clock.monotonic)
    schedule = merge_into(base or Schedule(timezone=planner.timezone), planned_slots(plan, planner.timezone))
    return PlanRun(schedule=schedule, plan=plan, prices=event)


def plan_schedule(
    settings: Settings,
    clock: Clock,
    *,
    source: PriceSource,
    price_file: Path | None = None,
    log_path: Path | None = None,
    soc_pct: float | None = None,
    base_path: Path | None = None,
) -> Schedule:
    """:func:`run_planner` with the base schedule read from a JSON file."""
    base = Schedule.model_validate(json.loads(base_path.read_text())) if base_path is not None else None
    run = run_planner(
        settings, clock, source=source, price_file=price_file, log_path=log_path, soc_pct=soc_pct, base=base
    )
    return run.schedule


def needs_replan(
    plan: PlanResult | None,
    planned_with: datetime | None,
    latest_prices: datetime | None,
    now: datetime,
    soc_now_pct: float | None,
    drift_pct: float,
    recent_load: list[LoadSample] | None = None,
    load_drift_w: float = 300.0,
) -> str | None:
    """Why the plan should be made again now (``None``: keep it).

    ``recent_load`` is the net load measured since the plan began (any part of it); when its mean differs from
    the plan's forecast for the same steps by more than ``load_drift_w``, the forecast has drifted.
    """
    if plan is None:
        return "no plan yet"
    if latest_prices is not None and (planned_with is None or latest_prices > planned_with):
        return "new prices"
    step = next((s for s in plan.steps if s.start <= now < s.end), None)
    if step is None:
        return "plan ran out"
    if soc_now_pct is not None:
        elapsed = (now - step.start) / (step.end - step.start)
        expected = step.soc_start_pct + elapsed * (step.soc_end_pct - step.soc_start_pct)
        if abs(soc_now_pct - expected) > drift_pct:
            return f"SoC {soc_now_pct:.0f}% is off the planned {expected:.0f}%"
    measured = [s for s in recent_load or () if plan.steps[0].start <= s.at < now]
    if measured:
        forecast = [
            next((p.net_load_w for p in plan.steps if p.start <= s.at < p.end), s.net_load_w)
            for s in measured
        ]
        actual_w = sum(s.net_load_w for s in measured) / len(measured)
        expected_w = sum(forecast) / len(forecast)
        if abs(actual_w - expected_w) > load_drift_w:
            return f"load {actual_w:.0f} W is off the forecast {expected_w:.0f} W"
    return None
