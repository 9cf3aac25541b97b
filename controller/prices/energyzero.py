"""EnergyZero (NL, public, no token): the REST ``/public/v1/prices`` answer.

The answer holds four series of ``{start, end, price: {value}}`` with EUR/kWh as strings: ``base`` (wholesale,
no VAT), ``base_with_vat``, ``all_in`` and ``all_in_with_vat``. We read ``base`` by default and add the user's
own tariff (:mod:`controller.prices.tariff`). ``interval`` 1 = quarter hours, 2 = hours.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from controller.prices.model import MarketPrice, PriceParseError, check_series
from controller.prices.timeparse import parse_instant

__all__ = ["SERIES", "parse", "request_params"]

SERIES = ("base", "base_with_vat", "all_in", "all_in_with_vat")
Resolution = Literal[15, 60]


def request_params(day: date, minutes: Resolution = 15) -> dict[str, str]:
    """Query parameters for one local delivery day."""
    return {
        "energyType": "ENERGY_TYPE_ELECTRICITY",
        "date": day.strftime("%d-%m-%Y"),
        "interval": "INTERVAL_QUARTER" if minutes == 15 else "INTERVAL_HOUR",
    }


def parse(body: bytes, series: str = "base") -> list[MarketPrice]:
    """Market prices of ``series`` in an EnergyZero answer."""
    if series not in SERIES:
        raise PriceParseError(f"energyzero: unknown series '{series}' (one of {', '.join(SERIES)})")
    try:
        document: Any = json.loads(body)
    except ValueError as err:
        raise PriceParseError(f"energyzero: not JSON ({err})") from err
    if not isinstance(document, dict) or not isinstance(document.get(series), list):
        raise PriceParseError(f"energyzero: answer has no '{series}' list")
    prices = []
    for index, item in enumerate(document[series]):
        try:
            prices.append(
                MarketPrice(
                    start=parse_instant(item["start"]),
                    end=parse_instant(item["end"]),
                    eur_per_kwh=float(item["price"]["value"]),
                )
            )
        except (KeyError, TypeError, ValueError) as err:
            raise PriceParseError(f"energyzero: {series}[{index}] is not a price ({err})") from err
    return check_series(prices, "energyzero")
