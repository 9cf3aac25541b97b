"""Flash-wear and relay bookkeeping for zenSDK writes.

An ``acMode`` change switches a physical relay; a write with ``smartMode: 0`` (or without ``smartMode``
while the device is in mode 0) is stored in flash. Each such write becomes a :class:`DeviceWriteCounted`
event; the per-day totals are derived from those events (so they survive restarts via the event log).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from controller.clock import Clock
from controller.domain.events import DeviceWriteCounted, EventBase

__all__ = ["DailyWear", "WearCounter", "wear_per_day"]


@dataclass(frozen=True)
class DailyWear:
    """Totals for one UTC day."""

    ac_mode_switches: int = 0
    flash_writes: int = 0


def wear_per_day(events: Iterable[EventBase]) -> dict[date, DailyWear]:
    """Sum :class:`DeviceWriteCounted` events per UTC day."""
    totals: dict[date, DailyWear] = {}
    for event in events:
        if isinstance(event, DeviceWriteCounted):
            day = event.at.date()
            old = totals.get(day, DailyWear())
            totals[day] = DailyWear(
                old.ac_mode_switches + int(event.ac_mode_switch), old.flash_writes + int(event.flash_write)
            )
    return totals


class WearCounter:
    """Tracks the device's acMode and smartMode across writes and counts relay switches and flash writes."""

    def __init__(self, clock: Clock, *, ac_mode: int | None = None, smart_mode: int | None = None) -> None:
        self._clock = clock
        self.ac_mode = ac_mode
        self.smart_mode = smart_mode
        self._days: dict[date, DailyWear] = {}

    def restore(self, events: Iterable[EventBase]) -> None:
        """Load earlier counts (e.g. today's events read back from the log)."""
        for day, wear in wear_per_day(events).items():
            old = self._days.get(day, DailyWear())
            self._days[day] = DailyWear(
                old.ac_mode_switches + wear.ac_mode_switches, old.flash_writes + wear.flash_writes
            )

    def observe(self, properties: Mapping[str, Any]) -> None:
        """Learn the device's current ``acMode``/``smartMode`` from a report (no counting)."""
        ac_mode = properties.get("acMode")
        if ac_mode in (1, 2):
            self.ac_mode = int(ac_mode)
        smart = properties.get("smartMode")
        if smart in (0, 1):
            self.smart_mode = int(smart)

    def record(self, properties: Mapping[str, Any]) -> DeviceWriteCounted | None:
        """Count an accepted write of ``properties``; the event when it switched acMode or hit flash."""
        new_ac = properties.get("acMode")
        switched = new_ac in (1, 2) and self.ac_mode is not None and new_ac != self.ac_mode
        smart = properties.get("smartMode", self.smart_mode)
        flash = smart == 0
        self.observe(properties)
        if not (switched or flash):
            return None
        event = DeviceWriteCounted(at=self._clock.now(), ac_mode_switch=bool(switched), flash_write=flash)
        day = event.at.date()
        old = self._days.get(day, DailyWear())
        self._days[day] = DailyWear(old.ac_mode_switches + int(switched), old.flash_writes + int(flash))
        return event

    def today(self) -> DailyWear:
        """Totals for the current UTC day."""
        return self._days.get(self._clock.now().date(), DailyWear())
