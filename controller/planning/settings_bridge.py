"""The planner's inputs from the settings: the battery model and the tariff."""

from __future__ import annotations

from controller.planning.model import BatteryModel
from controller.prices.tariff import Tariff
from controller.settings import Settings

__all__ = ["battery_model", "tariff"]


def battery_model(settings: Settings) -> BatteryModel:
    """The battery as configured: capacity and efficiency from [planner], power and SoC from [limits]."""
    planner, limits = settings.planner, settings.limits
    return BatteryModel(
        capacity_wh=planner.capacity_wh,
        max_charge_w=limits.max_charge_w,
        max_discharge_w=limits.max_discharge_w,
        charge_efficiency=planner.charge_efficiency,
        discharge_efficiency=planner.discharge_efficiency,
        min_soc_pct=limits.min_soc_pct,
        max_soc_pct=limits.max_soc_pct,
        wear_eur_per_kwh=planner.wear_eur_per_kwh,
        grid_charge=planner.grid_charge,
        export_discharge=planner.export_discharge,
    )


def tariff(settings: Settings) -> Tariff:
    """The household's tariff from ``[prices]``."""
    prices = settings.prices
    return Tariff(
        margin_eur_per_kwh=prices.margin_eur_per_kwh,
        energy_tax_eur_per_kwh=prices.energy_tax_eur_per_kwh,
        vat_pct=prices.vat_pct,
        export=prices.export,
        export_margin_eur_per_kwh=prices.export_margin_eur_per_kwh,
        export_fixed_eur_per_kwh=prices.export_fixed_eur_per_kwh,
    )
