"""Today's imported, exported and avoided grid energy, integrated from power samples (pure).

Each sample's power holds until the next sample (left rectangles); a gap longer than ``max_gap_s`` is not
integrated (nothing is known about it). The counters restart at local midnight. *Avoided* import is what the
grid would have delivered without the battery minus what it did deliver: per sample
``max(0, grid + battery) − max(0, grid)`` (``battery`` + = discharge), so charging from the grid counts
against it. :attr:`DailyTotals.counting_since` is when the current count began (midnight, or the first
sample after a start), which Home Assistant needs as ``last_reset`` for the avoided total.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo

__all__ = ["DailyEnergy", "DailyTotals"]

_J_PER_KWH = 3_600_000.0


@dataclass(frozen=True, slots=True)
class DailyTotals:
    """The counters of one local day, in kWh."""

    day: date
    counting_since: datetime
    imported_kwh: float
    exported_kwh: float
    avoided_kwh: float


class DailyEnergy:
    """Integrates grid and battery power (W) into today's counters."""

    def __init__(self, zone: tzinfo, *, max_gap_s: float = 60.0) -> None:
        self.zone = zone
        self.max_gap_s = max_gap_s
        self._last: tuple[datetime, float, float] | None = None
        self._day: date | None = None
        self._since: datetime | None = None
        self._imported_j = 0.0
        self._exported_j = 0.0
        self._avoided_j = 0.0

    def _start_day(self, day: date, since: datetime) -> None:
        self._day, self._since = day, since
        self._imported_j = self._exported_j = self._avoided_j = 0.0

    def _integrate(self, seconds: float, grid_w: float, battery_w: float) -> None:
        self._imported_j += max(0.0, grid_w) * seconds
        self._exported_j += max(0.0, -grid_w) * seconds
        self._avoided_j += (max(0.0, grid_w + battery_w) - max(0.0, grid_w)) * seconds

    def add(self, at: datetime, grid_w: float | None, battery_w: float | None) -> None:
        """One sample; ``None`` power (unknown) ends integration until the next known sample."""
        day = at.astimezone(self.zone).date()
        previous = self._last
        if self._day is None:
            self._start_day(day, at)
        if previous is not None:
            then, last_grid, last_battery = previous
            seconds = (at - then).total_seconds()
            if 0 < seconds <= self.max_gap_s:
                if day != self._day:
                    midnight = datetime.combine(day, time(), tzinfo=self.zone)
                    self._integrate(max(0.0, (midnight - then).total_seconds()), last_grid, last_battery)
                    self._start_day(day, midnight)
                    seconds = max(0.0, (at - midnight).total_seconds())
                self._integrate(seconds, last_grid, last_battery)
        if day != self._day:
            self._start_day(day, at)
        if previous is not None and at < previous[0]:
            return  # out of order: keep the newer sample
        self._last = None if grid_w is None else (at, grid_w, battery_w or 0.0)

    def totals(self) -> DailyTotals | None:
        """Today's counters so far (``None`` before the first sample)."""
        if self._day is None or self._since is None:
            return None
        return DailyTotals(
            day=self._day,
            counting_since=self._since,
            imported_kwh=self._imported_j / _J_PER_KWH,
            exported_kwh=self._exported_j / _J_PER_KWH,
            avoided_kwh=self._avoided_j / _J_PER_KWH,
        )
