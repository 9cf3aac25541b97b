"""Planning a site's schedule on the server: load history and SoC from the site's telemetry, the plan merged
into the site's current schedule and stored as its next version (author ``zsm plan``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from controller.clock import Clock
from controller.domain.schedule import Schedule
from controller.planning.forecast import LoadSample
from controller.planning.runner import PlanRun, plan_from
from controller.prices.fetch import PriceSource
from controller.prices.model import MarketPrice
from controller.settings import Settings
from storage.schema import to_micros
from storage.server.services.schedules import ScheduleDoc, canonical_json, current_schedule, put_schedule
from storage.server.services.sites import SiteRef
from storage.server.tables import SAMPLES

__all__ = ["PLANNER_AUTHOR", "load_history", "plan_site"]

PLANNER_AUTHOR = "zsm plan"
_MAX_BATTERY_AGE_US = 120 * 1_000_000


def load_history(
    engine: Engine, site: SiteRef, since: datetime, until: datetime
) -> tuple[list[LoadSample], float | None]:
    """Net-load samples (grid + the latest battery power) of ``[since, until)``, and the last SoC seen."""
    statement = (
        select(SAMPLES.c.at, SAMPLES.c.grid_w, SAMPLES.c.battery_w, SAMPLES.c.soc_pct)
        .where(
            SAMPLES.c.site_id == site.id, SAMPLES.c.at >= to_micros(since), SAMPLES.c.at < to_micros(until)
        )
        .order_by(SAMPLES.c.at, SAMPLES.c.seq)
    )
    samples: list[LoadSample] = []
    battery_w: float | None = None
    battery_at = 0
    soc: float | None = None
    with engine.connect() as connection:
        for at, grid_w, row_battery_w, soc_pct in connection.execute(statement):
            if row_battery_w is not None:
                battery_w, battery_at = float(row_battery_w), int(at)
            if soc_pct is not None:
                soc = float(soc_pct)
            if grid_w is None:
                continue
            if battery_w is not None and int(at) - battery_at > _MAX_BATTERY_AGE_US:
                continue
            moment = datetime.fromtimestamp(int(at) / 1_000_000, tz=UTC)
            samples.append(LoadSample(moment, float(grid_w) + (battery_w or 0.0)))
    return samples, soc


def plan_site(
    engine: Engine,
    site: SiteRef,
    settings: Settings,
    clock: Clock,
    *,
    source: PriceSource,
    market: list[MarketPrice],
) -> tuple[PlanRun, ScheduleDoc | None]:
    """Plan ``site`` and store the result as a new version (``None``: the schedule did not change)."""
    now = clock.now()
    current = current_schedule(engine, site)
    since = now - timedelta(days=settings.planner.history_days)
    samples, soc = load_history(engine, site, since, now)
    if soc is None:
        raise ValueError(f"site {site.name}: no SoC in its telemetry yet")
    run = plan_from(
        settings,
        clock,
        source=source,
        market=market,
        samples=samples,
        soc_pct=soc,
        base=Schedule.model_validate(current.body),
    )
    body = run.schedule.model_dump(mode="json", exclude_none=True)
    if canonical_json(body) == canonical_json(current.body):
        return run, None
    return run, put_schedule(engine, site, body, current.etag, PLANNER_AUTHOR, now)
