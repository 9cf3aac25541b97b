"""What a simulated device needs from the plant: the ports the protocol servers are driven through.

The servers own only protocol state (settings, counters, faults, wire formats). Physics (dead time, ramp,
start threshold, efficiency, SoC integration, meter lag) lives behind these ports, in the plant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["BatteryPort", "BatteryState", "MeterPort", "MeterSample"]


@dataclass(frozen=True)
class BatteryState:
    """The battery now. ``ac_w``: + discharge into the home, − charging; ``pack_w``: + pack discharging."""

    soc_pct: float
    ac_w: float
    pack_w: float


class BatteryPort(Protocol):
    """The physical battery behind a simulated zenSDK device."""

    def set_target(self, battery_w: float, now: datetime) -> None:
        """A new AC set-point (+ discharge, − charge) decided by the firmware at ``now``."""
        ...

    def set_limits(self, max_discharge_w: float, max_charge_w: float) -> None:
        """Live power limits from the firmware (0 = blocked; a SoC cut-off stops the output at once)."""
        ...

    def state(self, now: datetime) -> BatteryState:
        """Advance to ``now`` and report."""
        ...


@dataclass(frozen=True)
class MeterSample:
    """One meter sample as the meter shows it (lag already applied by the plant).

    ``at`` is the meter's own time stamp for it (true time, before any clock offset); ``phases_w`` are
    signed per-phase powers (+ import), ``grid_w`` is their sum; energy counters in kWh.
    """

    at: datetime
    phases_w: tuple[float, ...]
    import_kwh: float
    export_kwh: float

    @property
    def grid_w(self) -> float:
        return float(sum(self.phases_w))


class MeterPort(Protocol):
    """The P1 meter behind a simulated HomeWizard / DSMR device."""

    def reading_at(self, now: datetime) -> MeterSample | None:
        """The newest sample the meter shows at ``now`` (``None`` before its first measurement)."""
        ...

    def samples_since(self, now: datetime, after: datetime | None) -> list[MeterSample]:
        """Every sample sent in ``(after, now]``, oldest first (a telegram stream emits each one)."""
        ...
