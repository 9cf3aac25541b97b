"""Carrying out a mode over recorded net load, interval by interval: how backtests price a schedule.

Each mode is applied as the regulator would at step level, with the battery's power limits, efficiencies and
SoC window (no meter lag, no ramp: those are the regulator's business and measured by ``zsm simulate``):
``charge``/``discharge`` run at their power; ``netzero`` discharges to cancel import (up to ``max_w``);
``netzero_plus`` charges from export (up to ``max_w``); ``standby`` does nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from controller.domain.schedule import Mode, SlotAction
from controller.planning.forecast import LoadSample
from controller.planning.model import BatteryModel

__all__ = ["PriceAt", "Outcome", "run"]

#: Import and export price (EUR/kWh) in force at an instant.
PriceAt = Callable[[datetime], tuple[float, float]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """Energy and money over a run; ``value_eur`` counts the change of stored energy at ``stored_value``."""

    import_kwh: float
    export_kwh: float
    cost_eur: float
    soc_start_pct: float
    soc_end_pct: float
    stored_change_eur: float

    @property
    def net_cost_eur(self) -> float:
        """Grid cost minus the value of energy gained in the battery (plus the value of energy used up)."""
        return self.cost_eur - self.stored_change_eur


def _battery_w(
    action: SlotAction, load_w: float, battery: BatteryModel, stored: float, hours: float
) -> float:
    e_min = battery.capacity_wh * battery.min_soc_pct / 100
    e_max = battery.capacity_wh * battery.max_soc_pct / 100
    can_out = max(0.0, (stored - e_min) * battery.discharge_efficiency / hours) if hours else 0.0
    can_in = max(0.0, (e_max - stored) / battery.charge_efficiency / hours) if hours else 0.0
    out_cap = min(battery.max_discharge_w, can_out)
    in_cap = min(battery.max_charge_w, can_in)
    match action.mode:
        case Mode.CHARGE:
            return -min(float(action.power_w or 0), in_cap)
        case Mode.DISCHARGE:
            return min(float(action.power_w or 0), out_cap)
        case Mode.NETZERO:
            cap = out_cap if action.max_w is None else min(out_cap, action.max_w)
            return max(0.0, min(load_w, cap))
        case Mode.NETZERO_PLUS:
            cap = in_cap if action.max_w is None else min(in_cap, action.max_w)
            return -max(0.0, min(-load_w, cap))
        case _:
            return 0.0


def run(
    samples: Sequence[LoadSample],
    end: datetime,
    action_at: Callable[[datetime, float], SlotAction],
    price_at: PriceAt,
    battery: BatteryModel,
    soc_start_pct: float,
    stored_value_eur_per_kwh: float,
) -> Outcome:
    """Apply ``action_at(at, load_w)`` to each sample interval.

    A sample holds until the next one, the last until ``end``.
    """
    stored = start = battery.capacity_wh * soc_start_pct / 100
    imported = exported = cost = 0.0
    for index, sample in enumerate(samples):
        until = samples[index + 1].at if index + 1 < len(samples) else end
        hours = (until - sample.at).total_seconds() / 3600
        if hours <= 0:
            continue
        battery_w = _battery_w(
            action_at(sample.at, sample.net_load_w), sample.net_load_w, battery, stored, hours
        )
        if battery_w >= 0:
            stored -= battery_w * hours / battery.discharge_efficiency
        else:
            stored -= battery_w * hours * battery.charge_efficiency
        grid_w = sample.net_load_w - battery_w
        import_price, export_price = price_at(sample.at)
        kwh = abs(grid_w) * hours / 1000
        if grid_w >= 0:
            imported += kwh
            cost += kwh * import_price
        else:
            exported += kwh
            cost -= kwh * export_price
    capacity = battery.capacity_wh
    return Outcome(
        import_kwh=imported,
        export_kwh=exported,
        cost_eur=cost,
        soc_start_pct=100 * start / capacity,
        soc_end_pct=100 * stored / capacity,
        stored_change_eur=(stored - start) / 1000 * stored_value_eur_per_kwh,
    )
