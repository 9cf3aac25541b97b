"""The tariff on top of market prices: margin, energy tax, VAT, and each export rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from controller.domain.events import PricesReceived
from controller.prices.model import MarketPrice
from controller.prices.tariff import Tariff, apply_tariff

START = datetime(2026, 1, 5, 12, tzinfo=UTC)
PRICE = [
    MarketPrice(START, START + timedelta(minutes=15), 0.10),
    MarketPrice(START + timedelta(minutes=15), START + timedelta(minutes=30), -0.05),
]


def test_import_price_adds_margin_and_tax_then_vat() -> None:
    tariff = Tariff(margin_eur_per_kwh=0.02, energy_tax_eur_per_kwh=0.10, vat_pct=21)
    assert tariff.import_price(0.10) == pytest.approx((0.10 + 0.02 + 0.10) * 1.21)
    assert tariff.import_price(-0.05) == pytest.approx((-0.05 + 0.12) * 1.21)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [("same_as_import", (0.10 + 0.12) * 1.21), ("market", 0.10 - 0.01), ("fixed", 0.03), ("none", None)],
)
def test_export_rules(rule: str, expected: float | None) -> None:
    tariff = Tariff(
        margin_eur_per_kwh=0.02,
        energy_tax_eur_per_kwh=0.10,
        vat_pct=21,
        export=rule,  # type: ignore[arg-type]
        export_margin_eur_per_kwh=-0.01,
        export_fixed_eur_per_kwh=0.03,
    )
    result = tariff.export_price(0.10)
    assert result == (None if expected is None else pytest.approx(expected))


def test_applied_prices_make_a_valid_prices_received_event() -> None:
    intervals = apply_tariff(PRICE, Tariff(energy_tax_eur_per_kwh=0.1, vat_pct=21, export="none"))
    event = PricesReceived(at=START, source="energyzero", zone="NL", intervals=intervals)
    assert event.intervals[1].import_eur_per_kwh == pytest.approx(0.05 * 1.21)
    assert event.intervals[0].export_eur_per_kwh is None
    assert PricesReceived.model_validate_json(event.model_dump_json()) == event
