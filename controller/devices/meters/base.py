"""What every meter adapter offers, and how new data is told from repeats."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from controller.domain.events import MeterReading

__all__ = ["MeterAdapter", "NewDataFilter"]


class MeterAdapter(Protocol):
    """A grid meter. ``read()`` returns the newest reading when it is new data, ``None`` for a repeat.

    It raises a :class:`~controller.devices.errors.DeviceError` when the meter cannot be read.
    """

    def read(self) -> MeterReading | None: ...

    def close(self) -> None: ...


class NewDataFilter:
    """Tells new data from repeats: by the meter's own timestamp when it has one, else by value change."""

    def __init__(self) -> None:
        self._last_time: datetime | None = None
        self._last_values: tuple[object, ...] | None = None

    def is_new(self, reading: MeterReading) -> bool:
        if reading.meter_time is not None:
            new = self._last_time is None or reading.meter_time != self._last_time
            self._last_time = reading.meter_time
            return new
        values = (reading.grid_w, reading.phases_w, reading.import_kwh, reading.export_kwh)
        new = values != self._last_values
        self._last_values = values
        return new
