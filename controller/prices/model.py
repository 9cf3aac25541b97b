"""The market price of one delivery interval, as every source reports it after parsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = ["MAX_INTERVALS", "MarketPrice", "PriceParseError", "check_series"]

#: More intervals than any day-ahead answer holds (3 days at 15 min = 288); larger answers are rejected.
MAX_INTERVALS = 2000
_ALLOWED_LENGTHS = (timedelta(minutes=15), timedelta(minutes=30), timedelta(minutes=60))
_MAX_ABS_EUR_PER_KWH = 10.0


class PriceParseError(ValueError):
    """A price answer cannot be read: wrong shape, bad value or an error document from the source."""


@dataclass(frozen=True, slots=True)
class MarketPrice:
    """Price of energy delivered in ``[start, end)`` (aware UTC), EUR per kWh, before the user's tariff."""

    start: datetime
    end: datetime
    eur_per_kwh: float

    @property
    def length(self) -> timedelta:
        """How long the interval is (15, 30 or 60 minutes)."""
        return self.end - self.start


def check_series(prices: list[MarketPrice], source: str) -> list[MarketPrice]:
    """Sort, drop exact duplicates and check lengths, bounds and overlaps; raise with the first problem."""
    if len(prices) > MAX_INTERVALS:
        raise PriceParseError(f"{source}: {len(prices)} intervals, more than the {MAX_INTERVALS} accepted")
    ordered = sorted(set(prices), key=lambda p: p.start)
    for price in ordered:
        if price.start.tzinfo is None:
            raise PriceParseError(f"{source}: interval at {price.start} has no time zone")
        if price.length not in _ALLOWED_LENGTHS:
            raise PriceParseError(
                f"{source}: interval at {price.start.isoformat()} lasts {price.length}, not 15/30/60 min"
            )
        if not -_MAX_ABS_EUR_PER_KWH <= price.eur_per_kwh <= _MAX_ABS_EUR_PER_KWH:
            raise PriceParseError(
                f"{source}: price {price.eur_per_kwh} EUR/kWh at {price.start.isoformat()} is out of range"
            )
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start < before.end:
            raise PriceParseError(
                f"{source}: intervals at {before.start.isoformat()} and {after.start.isoformat()} overlap"
            )
    return ordered
