"""Fetching from each source against the simulated price server on loopback (real HTTP, real shapes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from controller.prices import energyzero
from controller.prices.fetch import MAX_BODY_BYTES, PriceFetchError, PriceSource, fetch_prices
from controller.prices.model import MarketPrice
from controller.simulation.devices.price_server import PriceServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
DAY_START = datetime(2025, 12, 15, 23, tzinfo=UTC)


@pytest.fixture
def quarter_prices() -> list[MarketPrice]:
    return energyzero.parse((FIXTURES / "energyzero_quarter_2025-12-16.json").read_bytes())


@pytest.fixture
def server(quarter_prices: list[MarketPrice]) -> Iterator[PriceServer]:
    running = PriceServer(quarter_prices).start()
    yield running
    running.stop()


@pytest.mark.parametrize("kind", ["energyzero", "awattar", "entsoe", "json"])
def test_every_source_returns_the_same_quarter_hours(
    server: PriceServer, quarter_prices: list[MarketPrice], kind: str
) -> None:
    source = PriceSource(kind=kind, url=f"{server.url}/{kind}", token=SecretStr("sim-token"))  # type: ignore[arg-type]
    prices = fetch_prices(source, DAY_START, DAY_START + timedelta(days=1))
    assert [(p.start, round(p.eur_per_kwh, 5)) for p in prices] == [
        (p.start, round(p.eur_per_kwh, 5)) for p in quarter_prices
    ]


def test_energyzero_asks_per_local_day(server: PriceServer) -> None:
    source = PriceSource(kind="energyzero", url=f"{server.url}/energyzero")
    fetch_prices(source, DAY_START, DAY_START + timedelta(hours=36))
    assert [p.split("date=")[1][:10] for p in server.requests] == ["16-12-2025", "17-12-2025"]


def test_entsoe_without_valid_token_is_a_clear_error(server: PriceServer) -> None:
    bad = PriceSource(kind="entsoe", url=f"{server.url}/entsoe", token=SecretStr("wrong"))
    with pytest.raises(PriceFetchError, match="invalid security token"):
        fetch_prices(bad, DAY_START, DAY_START + timedelta(days=1))
    with pytest.raises(PriceFetchError, match="token is required"):
        fetch_prices(
            PriceSource(kind="entsoe", url=f"{server.url}/entsoe"), DAY_START, DAY_START + timedelta(days=1)
        )


def test_http_errors_garbage_and_oversized_answers_fail_with_the_source_named(server: PriceServer) -> None:
    source = PriceSource(kind="awattar", url=f"{server.url}/awattar")
    server.status = 503
    with pytest.raises(PriceFetchError, match="awattar: HTTP 503"):
        fetch_prices(source, DAY_START, DAY_START + timedelta(days=1))
    server.status = None
    server.body = b"<html>maintenance</html>"
    with pytest.raises(PriceFetchError, match="awattar: not JSON"):
        fetch_prices(source, DAY_START, DAY_START + timedelta(days=1))
    server.body = b"[" + b" " * (MAX_BODY_BYTES + 10) + b"]"
    with pytest.raises(PriceFetchError, match="larger than"):
        fetch_prices(source, DAY_START, DAY_START + timedelta(days=1))


def test_unreachable_source_is_a_fetch_error() -> None:
    source = PriceSource(kind="json", url="http://127.0.0.1:9/json", timeout_s=2)
    with pytest.raises(PriceFetchError, match="request to"):
        fetch_prices(source, DAY_START, DAY_START + timedelta(days=1))


def test_dst_days_have_23_and_25_hours() -> None:
    def day(local_midnight_utc: datetime, hours: int) -> list[MarketPrice]:
        return [
            MarketPrice(
                local_midnight_utc + n * timedelta(hours=1),
                local_midnight_utc + (n + 1) * timedelta(hours=1),
                0.1,
            )
            for n in range(hours)
        ]

    spring = day(datetime(2026, 3, 28, 23, tzinfo=UTC), 23)
    autumn = day(datetime(2026, 10, 24, 22, tzinfo=UTC), 25)
    running = PriceServer(spring + autumn).start()
    try:
        source = PriceSource(kind="energyzero", url=f"{running.url}/energyzero")
        got_spring = fetch_prices(
            source, datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC)
        )
        got_autumn = fetch_prices(
            source, datetime(2026, 10, 24, 22, tzinfo=UTC), datetime(2026, 10, 25, 23, tzinfo=UTC)
        )
    finally:
        running.stop()
    assert len(got_spring) == 23
    assert len(got_autumn) == 25
    assert [p.split("date=")[1][:10] for p in running.requests] == ["29-03-2026", "25-10-2026"]
