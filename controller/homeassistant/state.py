"""The retained state JSON every Home Assistant entity of the site reads (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from controller.daemon.server_client import StatusReport
from controller.domain.commands import Command
from controller.domain.override import OVERRIDE_ID
from controller.domain.schedule import Schedule
from controller.homeassistant.energy import DailyTotals

__all__ = ["OverrideView", "override_view", "state_payload"]


@dataclass(frozen=True, slots=True)
class OverrideView:
    """The override in force (``mode`` ``auto`` when none), as the select and number show it."""

    mode: str = "auto"
    power_w: int | None = None
    until: datetime | None = None


def override_view(schedule: Schedule | None, now: datetime) -> OverrideView:
    """The override slot of ``schedule`` if it is in force at ``now``."""
    if schedule is None:
        return OverrideView()
    for slot, (start, end) in zip(schedule.dated, schedule.dated_utc, strict=True):
        if slot.id == OVERRIDE_ID and start <= now < end:
            return OverrideView(mode=slot.mode.value, power_w=slot.power_w, until=end)
    return OverrideView()


def _last_command(status: StatusReport) -> str | None:
    if status.last_command is None:
        return None
    try:
        return str(Command.model_validate(status.last_command))
    except ValueError:
        return None


def _kwh(value: float) -> float:
    return round(value, 4)


def state_payload(
    status: StatusReport,
    totals: DailyTotals | None,
    lag_s: float | None,
    override: OverrideView,
    power_w: int,
) -> dict[str, Any]:
    """One JSON object; ``None`` fields make the matching entity unknown rather than wrong."""
    return {
        "grid_w": status.grid_w,
        "battery_w": status.battery_w,
        "soc_pct": status.soc_pct,
        "state": status.state,
        "slot_mode": status.slot.get("mode") if status.slot else None,
        "last_command": _last_command(status),
        "meter_lag_s": None if lag_s is None else round(lag_s, 1),
        "imported_kwh": _kwh(totals.imported_kwh) if totals else None,
        "exported_kwh": _kwh(totals.exported_kwh) if totals else None,
        "avoided_kwh": _kwh(totals.avoided_kwh) if totals else None,
        "counting_since": totals.counting_since.isoformat() if totals else None,
        "override_mode": override.mode,
        "override_until": override.until.isoformat() if override.until else None,
        "override_power_w": power_w,
    }
