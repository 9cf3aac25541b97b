"""A day-ahead price server on loopback that answers like EnergyZero, aWATTar, ENTSO-E and a plain JSON URL.

It serves the market prices it is given, rendered in each source's real answer shape, filtered by the query
the real service takes (EnergyZero: ``date`` = local day; aWATTar: ``start``/``end`` epoch ms; ENTSO-E:
``periodStart``/``periodEnd`` and ``securityToken``). Faults a test can switch on: ``status`` (HTTP error),
``body`` (a fixed answer, e.g. garbage or an oversized one).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from controller.prices.model import MarketPrice
from controller.simulation.devices.http_base import LoopbackHTTPServer, Reply

__all__ = ["PriceServer"]

_ACK = (
    '<?xml version="1.0" encoding="utf-8"?>\n<Acknowledgement_MarketDocument '
    'xmlns="urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"><mRID>sim</mRID>'
    "<Reason><code>{code}</code><text>{text}</text></Reason></Acknowledgement_MarketDocument>"
)


def _z(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PriceServer:
    """Serves ``prices`` at ``/energyzero``, ``/awattar``, ``/entsoe`` and ``/json``."""

    def __init__(
        self, prices: list[MarketPrice], *, token: str = "sim-token", zone: str = "Europe/Amsterdam"
    ):
        self.prices = prices
        self.token = token
        self.zone = ZoneInfo(zone)
        self.status: int | None = None
        self.body: bytes | None = None
        self.requests: list[str] = []
        self._server = LoopbackHTTPServer(self._handle, name="prices")

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> PriceServer:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def _handle(self, method: str, path: str, _headers: dict[str, str], _body: bytes) -> Reply:
        self.requests.append(path)
        if self.status is not None:
            return self.status, "text/plain", b"simulated failure"
        if self.body is not None:
            return 200, "application/octet-stream", self.body
        parts = urlsplit(path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        match parts.path:
            case "/energyzero":
                return self._energyzero(query)
            case "/awattar":
                return self._awattar(query)
            case "/entsoe":
                return self._entsoe(query)
            case "/json":
                items = [
                    {"start": _z(p.start), "end": _z(p.end), "price": p.eur_per_kwh} for p in self.prices
                ]
                return 200, "application/json", json.dumps(items).encode()
        return 404, "text/plain", b"not found"

    def _between(self, start: datetime, end: datetime) -> list[MarketPrice]:
        return [p for p in self.prices if p.start >= start and p.end <= end]

    def _energyzero(self, query: dict[str, str]) -> Reply:
        try:
            day = datetime.strptime(query["date"], "%d-%m-%Y").replace(tzinfo=self.zone)
        except (KeyError, ValueError):
            return 400, "application/json", b'{"error": "date must be dd-mm-YYYY"}'
        start, end = day.astimezone(UTC), (day + timedelta(days=1)).astimezone(UTC)
        chosen = self._between(start, end)
        series = [
            {"start": _z(p.start), "end": _z(p.end), "price": {"value": f"{p.eur_per_kwh:.6f}"}}
            for p in chosen
        ]
        quarter = bool(chosen) and chosen[0].length == timedelta(minutes=15)
        document = {
            "interval": 1 if quarter else 2,
            "range": {"start": _z(start), "end": _z(end)},
            "base": series,
        }
        return 200, "application/json", json.dumps(document).encode()

    def _awattar(self, query: dict[str, str]) -> Reply:
        try:
            start = datetime.fromtimestamp(int(query["start"]) / 1000, tz=UTC)
            end = datetime.fromtimestamp(int(query["end"]) / 1000, tz=UTC)
        except (KeyError, ValueError):
            return 400, "application/json", b'{"error": "start and end in ms"}'
        data = [
            {
                "start_timestamp": int(p.start.timestamp() * 1000),
                "end_timestamp": int(p.end.timestamp() * 1000),
                "marketprice": round(p.eur_per_kwh * 1000, 2),
                "unit": "Eur/MWh",
            }
            for p in self.prices
            if p.end > start and p.start < end
        ]
        return 200, "application/json", json.dumps({"object": "list", "data": data}).encode()

    def _entsoe(self, query: dict[str, str]) -> Reply:
        if query.get("securityToken") != self.token:
            return (
                401,
                "text/xml",
                _ACK.format(code="999", text="Unauthorized. Missing or invalid security token").encode(),
            )
        try:
            start = datetime.strptime(query["periodStart"], "%Y%m%d%H%M").replace(tzinfo=UTC)
            end = datetime.strptime(query["periodEnd"], "%Y%m%d%H%M").replace(tzinfo=UTC)
        except (KeyError, ValueError):
            return 400, "text/xml", _ACK.format(code="999", text="periodStart/periodEnd missing").encode()
        chosen = self._between(start, end)
        if not chosen:
            return 200, "text/xml", _ACK.format(code="999", text="No matching data found").encode()
        step = chosen[0].length
        resolution = {15: "PT15M", 30: "PT30M", 60: "PT60M"}[int(step.total_seconds() // 60)]
        points = "".join(
            f"<Point><position>{n}</position><price.amount>{p.eur_per_kwh * 1000:.2f}</price.amount></Point>"
            for n, p in enumerate(chosen, start=1)
        )
        document = (
            '<?xml version="1.0" encoding="utf-8"?>\n<Publication_MarketDocument '
            'xmlns="urn:iec62325.351:tc57wg16:451-3:publicationdocument:7:3"><type>A44</type>'
            f"<TimeSeries><currency_Unit.name>EUR</currency_Unit.name><price_Measure_Unit.name>MWH"
            f"</price_Measure_Unit.name><curveType>A03</curveType><Period><timeInterval><start>"
            f"{chosen[0].start:%Y-%m-%dT%H:%MZ}</start><end>{chosen[-1].end:%Y-%m-%dT%H:%MZ}</end></timeInterval>"
            f"<resolution>{resolution}</resolution>{points}</Period></TimeSeries></Publication_MarketDocument>"
        )
        return 200, "text/xml", document.encode()
