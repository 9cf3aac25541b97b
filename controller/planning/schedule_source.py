"""The planner inside the daemon: a schedule source that plans on top of the person's schedule.

It wraps the configured source (file or URL: the slots a person wrote) and answers with that schedule plus
the plan. Prices are fetched every 15 minutes while fewer than 12 h are known, otherwise every
``price_refresh_s`` (tomorrow's appear in the early afternoon); a failed fetch keeps the known prices.
The plan is made again on new prices, a changed person's schedule, the plan running out, the SoC drifting
off the plan or the load drifting off the forecast. When planning fails the person's schedule is served
alone (the daemon then follows it; nothing is guessed). Each fetch of prices leaves a ``prices_received``
event in :attr:`events` for the caller to log.
"""

from __future__ import annotations

import hashlib
import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from controller.clock import Clock
from controller.daemon.schedule_source import ScheduleSource
from controller.daemon.server_client import FetchedSchedule
from controller.domain.events import PricesReceived
from controller.domain.schedule import Schedule
from controller.planning.forecast import LoadSample
from controller.planning.history import load_samples
from controller.planning.runner import PlanRun, last_soc, needs_replan, plan_start, run_planner
from controller.planning.settings_bridge import tariff
from controller.planning.solver import PlanSolveError
from controller.prices.fetch import PriceFetchError, PriceSource, fetch_prices, prices_event
from controller.prices.model import MarketPrice
from controller.settings import Settings

__all__ = ["PlanningScheduleSource"]

LOGGER = logging.getLogger(__name__)

_MAX_EVENTS = 16
_SHORT_RETRY_S = 900.0  # while fewer than 12 h of prices are known


class PlanningScheduleSource:
    """A :class:`ScheduleSource` that merges a fresh plan into the schedule of ``inner``."""

    def __init__(
        self,
        inner: ScheduleSource,
        settings: Settings,
        clock: Clock,
        *,
        log_path: Path | None = None,
        price_refresh_s: float = 3600.0,
        session: requests.Session | None = None,
    ) -> None:
        self.name = f"{inner.name}+plan"
        self._inner = inner
        self._settings = settings
        self._clock = clock
        self._log_path = log_path or settings.database_path
        self._price_source = PriceSource.model_validate(settings.prices.source_fields())
        self._refresh_s = price_refresh_s
        self._session = session
        self._base: dict[str, Any] | None = None
        self._base_etag: str | None = None
        self._base_changed = False
        self._market: list[MarketPrice] = []
        self._prices_at: datetime | None = None
        self._next_price_fetch = float("-inf")
        self._run: PlanRun | None = None
        self._planned_at: datetime | None = None
        self.events: list[PricesReceived] = []

    def fetch(self, etag: str | None) -> FetchedSchedule:
        fetched = self._inner.fetch(self._base_etag)
        if fetched.error is not None:
            return fetched
        if fetched.body is not None:
            self._base, self._base_etag, self._base_changed = fetched.body, fetched.etag, True
        if self._base is None:
            return FetchedSchedule(None, etag)
        self._refresh_prices()
        document = self._planned_document()
        digest = hashlib.sha256(json.dumps(document, sort_keys=True).encode()).hexdigest()[:16]
        if digest == etag:
            return FetchedSchedule(None, etag)
        return FetchedSchedule(document, digest)

    def _covered_until(self) -> datetime | None:
        return self._market[-1].end if self._market else None

    def _refresh_prices(self) -> None:
        now, mono = self._clock.now(), self._clock.monotonic()
        covered = self._covered_until()
        short = covered is None or covered < now + timedelta(hours=12)
        if mono < self._next_price_fetch:
            return
        self._next_price_fetch = mono + (min(self._refresh_s, _SHORT_RETRY_S) if short else self._refresh_s)
        start = plan_start(now, timedelta(minutes=15)) - timedelta(hours=1)
        end = start + timedelta(hours=self._settings.planner.horizon_h + 1)
        try:
            market = fetch_prices(self._price_source, start, end, self._session)
        except PriceFetchError as err:
            LOGGER.warning(
                "planner: prices not fetched (%s); keeping %d known intervals", err, len(self._market)
            )
            return
        if market and (covered is None or market[-1].end > covered or self._prices_at is None):
            self._market, self._prices_at = market, now
            if len(self.events) < _MAX_EVENTS:
                self.events.append(prices_event(now, self._price_source, market, tariff(self._settings)))

    def _soc(self) -> float | None:
        try:
            return last_soc(self._log_path, self._settings.site_id) if self._log_path.is_file() else None
        except Exception as err:  # noqa: BLE001 - a locked or damaged log must not stop the schedule
            LOGGER.warning("planner: SoC not read from %s: %s", self._log_path, err)
            return None

    def _recent_load(self, now: datetime) -> list[LoadSample]:
        if self._run is None or not self._log_path.is_file():
            return []
        try:
            return load_samples(self._log_path, now - timedelta(hours=1), now, self._settings.site_id)
        except Exception as err:  # noqa: BLE001 - a locked or damaged log must not stop the schedule
            LOGGER.warning("planner: recent load not read from %s: %s", self._log_path, err)
            return []

    def _planned_document(self) -> dict[str, Any]:
        assert self._base is not None
        now = self._clock.now()
        soc = self._soc()
        why = "the person's schedule changed" if self._base_changed else None
        why = why or needs_replan(
            self._run.plan if self._run else None,
            self._planned_at,
            self._prices_at,
            now,
            soc,
            self._settings.planner.replan_soc_drift_pct,
            self._recent_load(now),
            self._settings.planner.replan_load_drift_w,
        )
        if why is not None and self._market:
            try:
                base = Schedule.model_validate(self._base)
                self._run = run_planner(
                    self._settings,
                    self._clock,
                    source=self._price_source,
                    market=self._market,
                    log_path=self._log_path,
                    soc_pct=soc,
                    base=base,
                )
                self._planned_at = self._prices_at
                self._base_changed = False
                LOGGER.info("planner: planned %d steps (%s)", len(self._run.plan.steps), why)
            except (ValueError, PlanSolveError) as err:
                LOGGER.warning("planner: no plan (%s); following the schedule as written", err)
                self._run = None
        if self._run is None:
            return self._base
        return self._run.schedule.model_dump(mode="json", exclude_none=True)
