"""Looking up the tariffed price in force at an instant, and resampling prices onto planning steps."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from datetime import datetime, timedelta

from controller.domain.events import PriceInterval

__all__ = ["PriceTable"]


class PriceTable:
    """Import/export prices by instant (export ``None`` → 0: exported energy earns nothing)."""

    def __init__(self, intervals: Sequence[PriceInterval]) -> None:
        if not intervals:
            raise ValueError("no price intervals")
        self._intervals = sorted(intervals, key=lambda i: i.start)
        self._starts = [i.start for i in self._intervals]

    @property
    def start(self) -> datetime:
        return self._intervals[0].start

    @property
    def end(self) -> datetime:
        return self._intervals[-1].end

    def covers(self, start: datetime, end: datetime) -> bool:
        """True when every instant of ``[start, end)`` has a price."""
        at = start
        while at < end:
            found = self.find(at)
            if found is None:
                return False
            at = found.end
        return True

    def find(self, at: datetime) -> PriceInterval | None:
        """The interval holding ``at``, if any."""
        index = bisect.bisect_right(self._starts, at) - 1
        if index < 0:
            return None
        interval = self._intervals[index]
        return interval if at < interval.end else None

    def at(self, at: datetime) -> tuple[float, float]:
        """(import, export) EUR/kWh at ``at``; raises ``KeyError`` outside the known intervals."""
        found = self.find(at)
        if found is None:
            raise KeyError(f"no price at {at.isoformat()}")
        export = found.export_eur_per_kwh
        return found.import_eur_per_kwh, 0.0 if export is None else export

    def steps(self, start: datetime, step: timedelta, count: int) -> tuple[list[float], list[float]]:
        """Import and export prices of ``count`` steps from ``start`` (each step takes its start's price)."""
        imports, exports = [], []
        for n in range(count):
            imp, exp = self.at(start + n * step)
            imports.append(imp)
            exports.append(exp)
        return imports, exports
