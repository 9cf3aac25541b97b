"""Any URL or file with prices as JSON or CSV, for sources zsm has no parser for.

JSON: a list (or ``{"prices": [...]}``) of objects ``{"start": ISO, "end": ISO, "price": number}``;
``end`` may be left out, then it is the next interval's start (the last one gets the length of the one
before). CSV: a header with ``start``, ``price`` and optionally ``end``. Times need an offset (``Z`` or
``+01:00``). ``unit`` says whether prices are EUR/kWh or EUR/MWh.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal

from controller.prices.model import MAX_INTERVALS, MarketPrice, PriceParseError, check_series
from controller.prices.timeparse import parse_instant

__all__ = ["Unit", "parse_csv", "parse_json"]

Unit = Literal["eur_per_kwh", "eur_per_mwh"]
_DIVISOR = {"eur_per_kwh": 1.0, "eur_per_mwh": 1000.0}


def _complete(
    rows: list[tuple[datetime, datetime | None, float]], unit: Unit, source: str
) -> list[MarketPrice]:
    if not rows:
        raise PriceParseError(f"{source}: no prices")
    if len(rows) > MAX_INTERVALS:
        raise PriceParseError(f"{source}: more than {MAX_INTERVALS} prices")
    rows = sorted(rows, key=lambda row: row[0])
    prices: list[MarketPrice] = []
    for index, (start, end, value) in enumerate(rows):
        if end is None:
            if index + 1 < len(rows):
                end = rows[index + 1][0]
            elif prices:
                end = start + prices[-1].length
            else:
                raise PriceParseError(f"{source}: a single price needs an end")
        prices.append(MarketPrice(start=start, end=end, eur_per_kwh=value / _DIVISOR[unit]))
    return check_series(prices, source)


def _row(start: Any, end: Any, price: Any) -> tuple[datetime, datetime | None, float]:
    if isinstance(price, bool):
        raise ValueError("price is not a number")
    return parse_instant(start), None if end in (None, "") else parse_instant(end), float(price)


def parse_json(body: bytes, unit: Unit = "eur_per_kwh") -> list[MarketPrice]:
    """Prices from a JSON list of ``{start, end?, price}``."""
    try:
        document: Any = json.loads(body)
    except ValueError as err:
        raise PriceParseError(f"json: not JSON ({err})") from err
    items = document.get("prices") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise PriceParseError('json: expected a list of prices or {"prices": [...]}')
    rows = []
    for index, item in enumerate(items[: MAX_INTERVALS + 1]):
        try:
            rows.append(_row(item["start"], item.get("end"), item["price"]))
        except (AttributeError, KeyError, TypeError, ValueError) as err:
            raise PriceParseError(f"json: prices[{index}] is not a price ({err})") from err
    return _complete(rows, unit, "json")


def parse_csv(body: bytes, unit: Unit = "eur_per_kwh") -> list[MarketPrice]:
    """Prices from CSV with a ``start,end,price`` (or ``start,price``) header."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise PriceParseError(f"csv: not UTF-8 ({err})") from err
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or not {"start", "price"} <= set(reader.fieldnames):
        raise PriceParseError("csv: header must name 'start' and 'price' (and optionally 'end')")
    rows: list[tuple[datetime, datetime | None, float]] = []
    for line, record in enumerate(reader, start=2):
        if len(rows) > MAX_INTERVALS:
            break
        try:
            rows.append(_row(record["start"], record.get("end"), record["price"]))
        except (TypeError, ValueError) as err:
            raise PriceParseError(f"csv: line {line} is not a price ({err})") from err
    return _complete(rows, unit, "csv")
