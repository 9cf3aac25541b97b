"""Forecasts of the house's net load (consumption minus PV, + = import) learned from the site's own history.

The history is what the log already holds: every meter reading (grid power) paired with the latest battery
reading (battery power, + = discharge) gives the net load ``grid + battery`` at that moment — what the grid
would have seen with the battery idle. The forecast of a future step is the mean of the same local time of
day on recent days of the same kind (weekday or weekend), falling back to all recent days, then to the
overall mean. PV is inside the net load: a site without a separate PV meter gets PV's shape from recent days
this way, weather changes are not foreseen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from controller.domain.events import BatteryReading, EventBase, MeterReading

__all__ = ["LoadSample", "NetLoadProfile", "samples_from_events"]

_MIN_SAMPLES = 3


@dataclass(frozen=True, slots=True)
class LoadSample:
    """Net load of the house at ``at`` (W, + = import with the battery idle)."""

    at: datetime
    net_load_w: float


def samples_from_events(
    events: Iterable[EventBase], max_battery_age: timedelta = timedelta(minutes=2)
) -> list[LoadSample]:
    """Net-load samples from meter readings and the battery readings before them (stale battery: skipped)."""
    samples = []
    battery: BatteryReading | None = None
    for event in events:
        if isinstance(event, BatteryReading):
            battery = event
        elif isinstance(event, MeterReading):
            battery_w = 0.0
            if battery is not None:
                if event.at - battery.at > max_battery_age:
                    continue
                battery_w = battery.battery_w
            samples.append(LoadSample(at=event.at, net_load_w=event.grid_w + battery_w))
    return samples


@dataclass(frozen=True, slots=True)
class NetLoadProfile:
    """Mean net load per (weekend?, step of the local day), learned from samples."""

    timezone: str
    step: timedelta
    by_kind: dict[tuple[bool, int], float]
    by_slot: dict[int, float]
    overall: float
    days: int

    @classmethod
    def learn(
        cls, samples: Iterable[LoadSample], timezone: str, step: timedelta, until: datetime, days: int = 28
    ) -> NetLoadProfile:
        """Learn from the ``days`` days before ``until``."""
        tz = ZoneInfo(timezone)
        since = until - timedelta(days=days)
        sums_kind: dict[tuple[bool, int], list[float]] = {}
        sums_slot: dict[int, list[float]] = {}
        total, count = 0.0, 0
        step_s = int(step.total_seconds())
        for sample in samples:
            if not since <= sample.at < until:
                continue
            local = sample.at.astimezone(tz)
            slot = (local.hour * 3600 + local.minute * 60 + local.second) // step_s
            weekend = local.weekday() >= 5
            for key, table in (((weekend, slot), sums_kind), (slot, sums_slot)):
                cell = table.setdefault(key, [0.0, 0.0])  # type: ignore[arg-type]
                cell[0] += sample.net_load_w
                cell[1] += 1
            total += sample.net_load_w
            count += 1
        return cls(
            timezone=timezone,
            step=step,
            by_kind={k: s / n for k, (s, n) in sums_kind.items() if n >= _MIN_SAMPLES},
            by_slot={k: s / n for k, (s, n) in sums_slot.items() if n >= _MIN_SAMPLES},
            overall=total / count if count else 0.0,
            days=days,
        )

    def at(self, when: datetime) -> float:
        """Forecast net load (W) for the step starting at ``when``."""
        local = when.astimezone(ZoneInfo(self.timezone))
        slot = (local.hour * 3600 + local.minute * 60 + local.second) // int(self.step.total_seconds())
        weekend = local.weekday() >= 5
        if (weekend, slot) in self.by_kind:
            return self.by_kind[(weekend, slot)]
        return self.by_slot.get(slot, self.overall)

    def series(self, start: datetime, steps: int) -> tuple[float, ...]:
        """Forecasts for ``steps`` consecutive steps from ``start``."""
        return tuple(self.at(start + n * self.step) for n in range(steps))
