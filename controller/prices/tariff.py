"""The household's tariff on top of market prices: what a kWh costs to import and earns to export.

``import = (market + margin + energy_tax) × (1 + VAT)``. Export earns one of: the same all-in price (net
metering), the market price plus an export margin (which may be negative, a feed-in fee), a fixed price, or
nothing. Results become the ``intervals`` of a ``prices_received`` event.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.domain.events import PriceInterval
from controller.prices.model import MarketPrice

__all__ = ["ExportRule", "Tariff", "apply_tariff"]

ExportRule = Literal["same_as_import", "market", "fixed", "none"]


class Tariff(BaseModel):
    """Supplier margin, energy tax and VAT on imports; the rule for exports. Amounts in EUR/kWh."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    margin_eur_per_kwh: float = Field(default=0.0, ge=-1, le=1, description="Supplier margin per kWh")
    energy_tax_eur_per_kwh: float = Field(default=0.0, ge=0, le=1, description="Energy tax per kWh")
    vat_pct: float = Field(default=0.0, ge=0, le=50, description="VAT on the import price, percent")
    export: ExportRule = Field(default="market", description="How exported energy is paid")
    export_margin_eur_per_kwh: float = Field(
        default=0.0, ge=-1, le=1, description="Added to the market price for export = market (may be < 0)"
    )
    export_fixed_eur_per_kwh: float = Field(default=0.0, ge=-1, le=1, description="Price for export = fixed")

    def import_price(self, market_eur_per_kwh: float) -> float:
        """What one imported kWh costs."""
        return (market_eur_per_kwh + self.margin_eur_per_kwh + self.energy_tax_eur_per_kwh) * (
            1 + self.vat_pct / 100
        )

    def export_price(self, market_eur_per_kwh: float) -> float | None:
        """What one exported kWh earns (None: export is not paid)."""
        match self.export:
            case "same_as_import":
                return self.import_price(market_eur_per_kwh)
            case "market":
                return market_eur_per_kwh + self.export_margin_eur_per_kwh
            case "fixed":
                return self.export_fixed_eur_per_kwh
            case "none":
                return None


def _bounded(value: float) -> float:
    return max(-10.0, min(10.0, round(value, 6)))


def apply_tariff(prices: list[MarketPrice], tariff: Tariff) -> tuple[PriceInterval, ...]:
    """Import and export prices per interval, ready for a ``prices_received`` event."""
    intervals = []
    for price in prices:
        export = tariff.export_price(price.eur_per_kwh)
        intervals.append(
            PriceInterval(
                start=price.start,
                end=price.end,
                import_eur_per_kwh=_bounded(tariff.import_price(price.eur_per_kwh)),
                export_eur_per_kwh=None if export is None else _bounded(export),
            )
        )
    return tuple(intervals)
