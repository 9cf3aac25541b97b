"""aWATTar (DE/AT, public): ``/v1/marketdata``.

The answer is ``{"data": [{start_timestamp, end_timestamp, marketprice, unit}]}`` in epoch ms and EUR/MWh.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from controller.prices.model import MarketPrice, PriceParseError, check_series
from controller.prices.timeparse import from_epoch_ms

__all__ = ["parse", "request_params"]

_UNITS = {"eur/mwh": 1000.0, "eur/kwh": 1.0}


def request_params(start: datetime, end: datetime) -> dict[str, str]:
    """Query parameters for ``[start, end)``."""
    return {"start": str(int(start.timestamp() * 1000)), "end": str(int(end.timestamp() * 1000))}


def parse(body: bytes) -> list[MarketPrice]:
    """Market prices in an aWATTar answer."""
    try:
        document: Any = json.loads(body)
    except ValueError as err:
        raise PriceParseError(f"awattar: not JSON ({err})") from err
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise PriceParseError("awattar: answer has no 'data' list")
    prices = []
    for index, item in enumerate(document["data"]):
        try:
            unit = str(item.get("unit", "Eur/MWh")).lower()
            if unit not in _UNITS:
                raise ValueError(f"unit {unit!r}")
            prices.append(
                MarketPrice(
                    start=from_epoch_ms(item["start_timestamp"]),
                    end=from_epoch_ms(item["end_timestamp"]),
                    eur_per_kwh=float(item["marketprice"]) / _UNITS[unit],
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise PriceParseError(f"awattar: data[{index}] is not a price ({err})") from err
    return check_series(prices, "awattar")
