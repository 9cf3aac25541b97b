"""A parsed DSMR telegram → :class:`MeterReading` (pure: no I/O, no ``dsmr_parser`` import).

Works on anything shaped like a ``dsmr_parser`` telegram: attributes named like its value names, each with
``.value`` (:class:`~decimal.Decimal` or datetime) and ``.unit``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from controller.devices.errors import InvalidPayload
from controller.domain.events import MeterReading

__all__ = ["telegram_to_reading"]


def _value(telegram: Any, name: str) -> Decimal | None:
    obj = getattr(telegram, name, None)
    value = getattr(obj, "value", None)
    return value if isinstance(value, Decimal) else None


_POWER_SCALE = {"kw": Decimal(1000), "w": Decimal(1)}
_ENERGY_SCALE = {"kwh": Decimal(1), "wh": Decimal("0.001")}


def _scaled(telegram: Any, name: str, scales: dict[str, Decimal], default: str) -> Decimal | None:
    """The value of ``name`` in W (or kWh) by its own unit (``*kW``, ``*W``, ``*kWh``, ``*Wh``)."""
    obj = getattr(telegram, name, None)
    value = getattr(obj, "value", None)
    if not isinstance(value, Decimal):
        return None
    unit = getattr(obj, "unit", None) or default
    scale = scales.get(str(unit).lower())
    if scale is None:
        raise InvalidPayload(f"DSMR {name}: unexpected unit {unit!r}")
    return value * scale


def _power_w(telegram: Any, name: str) -> Decimal | None:
    return _scaled(telegram, name, _POWER_SCALE, "kW")


def _energy_kwh(telegram: Any, name: str) -> Decimal | None:
    return _scaled(telegram, name, _ENERGY_SCALE, "kWh")


def _sum(*values: Decimal | None) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present)) if present else None


def telegram_to_reading(telegram: Any, at: Any) -> MeterReading:
    """A parsed ``dsmr_parser`` telegram → :class:`MeterReading` (grid + = import), received at ``at``.

    Powers and energies are scaled by the unit each line carries (``*kW``/``*W``, ``*kWh``/``*Wh``). Without
    ``1-0:1.7.0`` (a garbled line in a telegram without CRC) the grid power comes from the per-phase lines,
    and without those the telegram is :class:`InvalidPayload`, never 0 W.
    """
    usage = _power_w(telegram, "CURRENT_ELECTRICITY_USAGE")
    delivery = _power_w(telegram, "CURRENT_ELECTRICITY_DELIVERY")
    phases: list[float] = []
    for n in (1, 2, 3):
        pos = _power_w(telegram, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_POSITIVE")
        neg = _power_w(telegram, f"INSTANTANEOUS_ACTIVE_POWER_L{n}_NEGATIVE")
        if pos is None and neg is None:
            continue
        phases.append(float((pos or Decimal(0)) - (neg or Decimal(0))))
    if usage is None:
        if not phases:
            raise InvalidPayload("telegram has no power (1-0:1.7.0 missing or unreadable)")
        grid_w = sum(phases)
    else:
        grid_w = float(usage - (delivery or Decimal(0)))
    total_import = _energy_kwh(telegram, "ELECTRICITY_IMPORTED_TOTAL")
    total_export = _energy_kwh(telegram, "ELECTRICITY_EXPORTED_TOTAL")
    import_kwh = _sum(
        _energy_kwh(telegram, "ELECTRICITY_USED_TARIFF_1"), _energy_kwh(telegram, "ELECTRICITY_USED_TARIFF_2")
    )
    export_kwh = _sum(
        _energy_kwh(telegram, "ELECTRICITY_DELIVERED_TARIFF_1"),
        _energy_kwh(telegram, "ELECTRICITY_DELIVERED_TARIFF_2"),
    )
    stamp = getattr(getattr(telegram, "P1_MESSAGE_TIMESTAMP", None), "value", None)
    return MeterReading(
        at=at,
        grid_w=grid_w,
        meter_time=stamp,
        phases_w=tuple(phases) or None,
        import_kwh=float(total_import) if total_import is not None else import_kwh,
        export_kwh=float(total_export) if total_export is not None else export_kwh,
    )
