"""Fetching prices over HTTP from the configured source: the one module here that does I/O.

Every source sits behind :func:`fetch_prices` (a :class:`PriceSource` config in, market prices out). Answers
are read with a timeout and a size cap; a failed request or unreadable answer raises :class:`PriceFetchError`
naming the source, so the caller can log it and keep the prices it has.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import requests
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from controller.domain.events import PricesReceived
from controller.prices import awattar, energyzero, entsoe, generic
from controller.prices.model import MarketPrice, PriceParseError, check_series
from controller.prices.tariff import Tariff, apply_tariff

__all__ = ["MAX_BODY_BYTES", "PriceFetchError", "PriceSource", "fetch_prices", "prices_event"]

MAX_BODY_BYTES = 2_000_000
SourceKind = Literal["energyzero", "awattar", "entsoe", "json", "csv"]
_DEFAULT_URLS: dict[str, str] = {
    "energyzero": "https://public.api.energyzero.nl/public/v1/prices",
    "awattar": "https://api.awattar.de/v1/marketdata",
    "entsoe": "https://web-api.tp.entsoe.eu/api",
}


class PriceFetchError(Exception):
    """Prices could not be fetched or read (the message names the source and the cause)."""


class PriceSource(BaseModel):
    """Where day-ahead prices come from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SourceKind = Field(default="energyzero", description="energyzero, awattar, entsoe, json or csv")
    url: str | None = Field(default=None, description="Override the source's URL (required for json/csv)")
    zone: str = Field(default="NL", max_length=32, description="Bidding zone (ENTSO-E short name or EIC)")
    token: SecretStr | None = Field(default=None, description="ENTSO-E security token")
    series: str = Field(
        default="base", description="EnergyZero series (base = wholesale, tariff added by us)"
    )
    unit: generic.Unit = Field(default="eur_per_kwh", description="Unit of json/csv prices")
    resolution_min: Literal[15, 60] = Field(default=15, description="Interval length to ask for")
    timezone: str = Field(default="Europe/Amsterdam", description="Local zone of the delivery days")
    timeout_s: float = Field(default=20.0, gt=0, le=120)


def _get(session: requests.Session, url: str, params: dict[str, str], timeout_s: float, name: str) -> bytes:
    try:
        with session.get(url, params=params, timeout=timeout_s, stream=True) as response:
            if response.status_code != 200 and name != "entsoe":  # ENTSO-E explains errors in XML
                raise PriceFetchError(f"{name}: HTTP {response.status_code} from {url}")
            body = b""
            for chunk in response.iter_content(chunk_size=65_536):
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    raise PriceFetchError(f"{name}: answer larger than {MAX_BODY_BYTES} bytes")
            return body
    except requests.RequestException as err:
        raise PriceFetchError(f"{name}: request to {url} failed ({err.__class__.__name__}: {err})") from err


def _local_days(start: datetime, end: datetime, zone: str) -> list[date]:
    tz = ZoneInfo(zone)
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)][:7]


def _fetch_raw(
    source: PriceSource, start: datetime, end: datetime, session: requests.Session
) -> list[MarketPrice]:
    url = source.url or _DEFAULT_URLS.get(source.kind)
    if url is None:
        raise PriceFetchError(f"{source.kind}: a url is required")
    match source.kind:
        case "energyzero":
            prices: list[MarketPrice] = []
            for day in _local_days(start, end, source.timezone):
                body = _get(
                    session,
                    url,
                    energyzero.request_params(day, source.resolution_min),
                    source.timeout_s,
                    "energyzero",
                )
                prices.extend(energyzero.parse(body, source.series))
            return prices
        case "awattar":
            return awattar.parse(
                _get(session, url, awattar.request_params(start, end), source.timeout_s, "awattar")
            )
        case "entsoe":
            if source.token is None:
                raise PriceFetchError("entsoe: a security token is required")
            params = entsoe.request_params(source.zone, start, end, source.token.get_secret_value())
            return entsoe.parse(_get(session, url, params, source.timeout_s, "entsoe"))
        case "json":
            return generic.parse_json(_get(session, url, {}, source.timeout_s, "json"), source.unit)
        case "csv":
            return generic.parse_csv(_get(session, url, {}, source.timeout_s, "csv"), source.unit)


def fetch_prices(
    source: PriceSource, start: datetime, end: datetime, session: requests.Session | None = None
) -> list[MarketPrice]:
    """Market prices overlapping ``[start, end)`` from ``source``, sorted and checked."""
    own = session or requests.Session()
    try:
        prices = _fetch_raw(source, start, end, own)
        return [p for p in check_series(prices, source.kind) if p.end > start and p.start < end]
    except PriceParseError as err:
        raise PriceFetchError(str(err)) from err
    finally:
        if session is None:
            own.close()


def prices_event(
    at: datetime, source: PriceSource, prices: list[MarketPrice], tariff: Tariff
) -> PricesReceived:
    """The ``prices_received`` event for prices fetched at ``at`` (tariff applied)."""
    return PricesReceived(
        at=at, source=source.kind, zone=source.zone, intervals=apply_tariff(prices[:2000], tariff)
    )
