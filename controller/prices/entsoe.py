"""ENTSO-E Transparency Platform (token, XML): day-ahead prices, document type A44, any bidding zone.

The answer is a ``Publication_MarketDocument``: ``TimeSeries`` → ``Period`` (``timeInterval``, ``resolution``
PT15M/PT30M/PT60M) → ``Point`` (``position``, ``price.amount`` in EUR/MWh). Two rules the platform relies on:

- a position left out of a Period repeats the price of the point before it (curve type A03); the first
  position must be present;
- several TimeSeries may cover the same interval: the lowest classification position wins.

Errors come back as an ``Acknowledgement_MarketDocument`` with a ``Reason``. XML is read with defusedxml.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from xml.etree.ElementTree import Element

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from controller.prices.model import MAX_INTERVALS, MarketPrice, PriceParseError, check_series

__all__ = ["ZONES", "parse", "request_params"]

#: Bidding-zone EIC codes by short name.
ZONES: dict[str, str] = {
    "NL": "10YNL----------L",
    "BE": "10YBE----------2",
    "DE-LU": "10Y1001A1001A82H",
    "AT": "10YAT-APG------L",
    "FR": "10YFR-RTE------C",
}
_RESOLUTIONS = {"PT15M": timedelta(minutes=15), "PT30M": timedelta(minutes=30), "PT60M": timedelta(hours=1)}
_UNIT_DIVISOR = {"MWH": 1000.0, "KWH": 1.0}


def request_params(zone: str, start: datetime, end: datetime, token: str) -> dict[str, str]:
    """Query parameters for zone ``zone`` (short name or EIC) over ``[start, end)`` (UTC, whole minutes)."""
    eic = ZONES.get(zone, zone)
    fmt = "%Y%m%d%H%M"
    return {
        "documentType": "A44",
        "in_Domain": eic,
        "out_Domain": eic,
        "periodStart": start.strftime(fmt),
        "periodEnd": end.strftime(fmt),
        "securityToken": token,
    }


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> Element | None:
    for child in element:
        if _local(child.tag) == name:
            return child
    return None


def _children(element: Element, name: str) -> list[Element]:
    return [child for child in element if _local(child.tag) == name]


def _text(element: Element, *path: str) -> str:
    node: Element | None = element
    for name in path:
        node = _child(node, name) if node is not None else None
    if node is None or node.text is None:
        raise ValueError(f"missing {'/'.join(path)}")
    return node.text.strip()


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)  # "2025-12-15T23:00Z"
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no offset")
    return value


def _period_prices(period: Element, divisor: float) -> list[MarketPrice]:
    start = _instant(_text(period, "timeInterval", "start"))
    end = _instant(_text(period, "timeInterval", "end"))
    resolution = _text(period, "resolution")
    step = _RESOLUTIONS.get(resolution)
    if step is None:
        raise ValueError(f"resolution {resolution!r} is not PT15M/PT30M/PT60M")
    count = int((end - start) / step)
    if count <= 0 or count > MAX_INTERVALS or start + count * step != end:
        raise ValueError(f"period {start.isoformat()}..{end.isoformat()} is not whole {resolution} steps")
    by_position: dict[int, float] = {}
    for point in _children(period, "Point"):
        position = int(_text(point, "position"))
        if not 1 <= position <= count:
            raise ValueError(f"position {position} outside 1..{count}")
        by_position[position] = float(_text(point, "price.amount")) / divisor
    if 1 not in by_position:
        raise ValueError("missing point at position 1")
    prices = []
    last = by_position[1]
    for position in range(1, count + 1):
        last = by_position.get(position, last)
        slot_start = start + (position - 1) * step
        prices.append(MarketPrice(start=slot_start, end=slot_start + step, eur_per_kwh=last))
    return prices


def _acknowledgement(root: Element) -> str:
    reasons = [
        f"{_text(reason, 'code')}: {_text(reason, 'text')}"
        for reason in _children(root, "Reason")
        if _child(reason, "text") is not None and _child(reason, "code") is not None
    ]
    return "; ".join(reasons) or "acknowledgement without reason"


def parse(body: bytes) -> list[MarketPrice]:
    """Market prices in an A44 answer; an acknowledgement or a malformed document raises PriceParseError."""
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, DefusedXmlException) as err:
        raise PriceParseError(f"entsoe: not a readable XML document ({err})") from err
    kind = _local(root.tag)
    if kind == "Acknowledgement_MarketDocument":
        raise PriceParseError(f"entsoe: no prices ({_acknowledgement(root)})")
    if kind != "Publication_MarketDocument":
        raise PriceParseError(f"entsoe: unexpected document {kind}")
    chosen: dict[datetime, tuple[int, MarketPrice]] = {}
    for index, series in enumerate(_children(root, "TimeSeries")):
        try:
            unit = _text(series, "price_Measure_Unit.name").upper()
            divisor = _UNIT_DIVISOR[unit]
            rank_node = _child(series, "classificationSequence_AttributeInstanceComponent.position")
            rank = int(rank_node.text) if rank_node is not None and rank_node.text else 1
            for period in _children(series, "Period"):
                for price in _period_prices(period, divisor):
                    held = chosen.get(price.start)
                    if held is None or rank < held[0]:
                        chosen[price.start] = (rank, price)
        except (KeyError, ValueError) as err:
            raise PriceParseError(f"entsoe: TimeSeries[{index}]: {err}") from err
        if len(chosen) > MAX_INTERVALS:
            raise PriceParseError(f"entsoe: more than {MAX_INTERVALS} intervals")
    return check_series([price for _, price in chosen.values()], "entsoe")
