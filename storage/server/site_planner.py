"""The server's planner thread: plans each chosen site's schedule from day-ahead prices on a timer.

Prices (one source and tariff for the server, from ``[prices]``) are fetched hourly; every ``interval_s``
each site is planned from its own telemetry and current schedule, and a changed plan is stored as the
site's next schedule version, which its daemon fetches like any other. A person's slots in that schedule
win. One site's failure is logged and never stops the others or the thread.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import requests
from sqlalchemy import Engine

from controller.clock import Clock
from controller.prices.fetch import PriceFetchError, PriceSource, fetch_prices
from controller.prices.model import MarketPrice
from controller.settings import Settings
from storage.server.services.planning import plan_site
from storage.server.services.sites import get_site

__all__ = ["SitePlanner"]

LOGGER = logging.getLogger(__name__)


class SitePlanner:
    """Plans ``sites`` every ``interval_s`` seconds in a background thread."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        clock: Clock,
        sites: tuple[str, ...],
        *,
        interval_s: float = 900.0,
        price_refresh_s: float = 3600.0,
        session: requests.Session | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._clock = clock
        self._sites = sites
        self._interval_s = interval_s
        self._price_refresh_s = price_refresh_s
        self._session = session
        self._source = PriceSource.model_validate(settings.prices.source_fields())
        self._market: list[MarketPrice] = []
        self._next_prices = float("-inf")
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zsm-site-planner", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the planner thread must outlive any one bad round
                LOGGER.exception("site planner round failed")
            self._stop.wait(self._interval_s)

    def _refresh_prices(self) -> None:
        mono = self._clock.monotonic()
        if mono < self._next_prices:
            return
        self._next_prices = mono + self._price_refresh_s
        now = self._clock.now()
        end = now + timedelta(hours=self._settings.planner.horizon_h + 1)
        try:
            self._market = fetch_prices(self._source, now - timedelta(hours=1), end, self._session)
        except PriceFetchError as err:
            LOGGER.warning(
                "site planner: prices not fetched (%s); keeping %d intervals", err, len(self._market)
            )

    def run_once(self) -> dict[str, str]:
        """Plan every site once; returns what happened per site (for logs and tests)."""
        self._refresh_prices()
        outcome: dict[str, str] = {}
        for name in self._sites:
            try:
                if not self._market:
                    raise ValueError("no prices")
                site = get_site(self._engine, name)
                _run, stored = plan_site(
                    self._engine, site, self._settings, self._clock, source=self._source, market=self._market
                )
                outcome[name] = "unchanged" if stored is None else f"version {stored.version}"
            except Exception as err:  # noqa: BLE001 - one site's problem must not stop the others
                LOGGER.warning("site planner: %s not planned: %s", name, err)
                outcome[name] = f"error: {err}"
        return outcome
