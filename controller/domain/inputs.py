"""What the controller knows about the world, folded from input events (shared by the live core and replay).

:class:`Inputs` keeps the latest meter and battery readings, explicit stale flags, active faults, the
schedule, and the safety latches with their hysteresis:

- *SoC low* latches at ``soc <= min_soc_pct`` or ``socLimit == 2`` and clears at
  ``soc >= min_soc_pct + soc_hysteresis_pct`` with ``socLimit != 2``; it blocks discharging.
- *SoC high* latches at ``soc >= max_soc_pct`` or ``socLimit == 1`` and clears at
  ``soc <= max_soc_pct - soc_hysteresis_pct`` with ``socLimit != 1``; it blocks charging.
- *Over-temperature* latches at ``temperature_c >= max_temperature_c`` and clears at
  ``max_temperature_c - temperature_hysteresis_c`` or below; it blocks everything.

Applying an event never looks at the clock; ages are computed by the caller from a ``now``.
"""

from __future__ import annotations

import logging
from datetime import datetime

from pydantic import ValidationError

from controller.domain.events import (
    BatteryReading,
    DeviceFault,
    EventBase,
    MeterReading,
    ScheduleLoaded,
    SourceRecovered,
    SourceStale,
)
from controller.domain.params import Limits
from controller.domain.schedule import Schedule

__all__ = ["BATTERY_SOURCE", "METER_SOURCE", "Inputs"]

LOGGER = logging.getLogger(__name__)

METER_SOURCE = "meter"
BATTERY_SOURCE = "battery"
_READING_FAULT = "battery-reading"


class Inputs:
    """The latest facts from input events, plus safety latches. Mutable; one per core."""

    __slots__ = (
        "battery",
        "battery_flagged_stale",
        "faults",
        "limits",
        "meter",
        "meter_flagged_stale",
        "schedule",
        "soc_high_latched",
        "soc_low_latched",
        "temperature_latched",
    )

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.meter: MeterReading | None = None
        self.battery: BatteryReading | None = None
        self.meter_flagged_stale = False
        self.battery_flagged_stale = False
        self.faults: dict[str, str] = {}
        self.schedule: Schedule | None = None
        self.soc_low_latched = False
        self.soc_high_latched = False
        self.temperature_latched = False

    def apply(self, event: EventBase) -> bool:
        """Fold one event in; ``True`` when it was an input this class tracks."""
        if isinstance(event, MeterReading):
            self.meter = event
            self.meter_flagged_stale = False
        elif isinstance(event, BatteryReading):
            self._apply_battery(event)
        elif isinstance(event, ScheduleLoaded):
            return self._apply_schedule(event)
        elif isinstance(event, SourceStale):
            self._flag(event.source, stale=True)
        elif isinstance(event, SourceRecovered):
            self._flag(event.source, stale=False)
        elif isinstance(event, DeviceFault):
            if event.active:
                self.faults[event.source] = event.detail
            else:
                self.faults.pop(event.source, None)
        else:
            return False
        return True

    def _flag(self, source: str, *, stale: bool) -> None:
        if source == METER_SOURCE:
            self.meter_flagged_stale = stale
        elif source == BATTERY_SOURCE:
            self.battery_flagged_stale = stale

    def _apply_schedule(self, event: ScheduleLoaded) -> bool:
        try:
            self.schedule = event.validated()
        except ValidationError as err:
            LOGGER.warning("ignoring a logged schedule that no longer validates: %s", err)
            return False
        return True

    def _apply_battery(self, reading: BatteryReading) -> None:
        limits = self.limits
        self.battery = reading
        self.battery_flagged_stale = False
        soc = reading.soc_pct
        if soc <= limits.min_soc_pct or reading.soc_limit == 2:
            self.soc_low_latched = True
        elif soc >= limits.min_soc_pct + limits.soc_hysteresis_pct:
            self.soc_low_latched = False
        if soc >= limits.max_soc_pct or reading.soc_limit == 1:
            self.soc_high_latched = True
        elif soc <= limits.max_soc_pct - limits.soc_hysteresis_pct:
            self.soc_high_latched = False
        temperature = reading.temperature_c
        if temperature is not None:
            if temperature >= limits.max_temperature_c:
                self.temperature_latched = True
            elif temperature <= limits.max_temperature_c - limits.temperature_hysteresis_c:
                self.temperature_latched = False
        if reading.fault:
            self.faults[_READING_FAULT] = reading.fault
        else:
            self.faults.pop(_READING_FAULT, None)

    def meter_age_s(self, now: datetime) -> float | None:
        """Seconds since the last meter reading was received; ``None`` without one."""
        return None if self.meter is None else (now - self.meter.at).total_seconds()

    def battery_age_s(self, now: datetime) -> float | None:
        """Seconds since the last battery reading was received; ``None`` without one."""
        return None if self.battery is None else (now - self.battery.at).total_seconds()

    def meter_fresh(self, now: datetime) -> bool:
        """A meter reading exists, is younger than ``meter_stale_s`` and the source is not flagged stale."""
        age = self.meter_age_s(now)
        return age is not None and not self.meter_flagged_stale and age <= self.limits.meter_stale_s

    def battery_fresh(self, now: datetime) -> bool:
        """A battery reading exists, is younger than ``battery_stale_s`` and is not flagged stale."""
        age = self.battery_age_s(now)
        return age is not None and not self.battery_flagged_stale and age <= self.limits.battery_stale_s
