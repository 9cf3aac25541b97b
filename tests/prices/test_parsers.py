"""Each price source's parser on real answer shapes (tests/fixtures/prices), and on broken answers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.prices import awattar, energyzero, entsoe, generic
from controller.prices.files import parse_prices
from controller.prices.model import PriceParseError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
DAY_START = datetime(2025, 12, 15, 23, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_energyzero_hours_are_72_points_as_strings_to_floats() -> None:
    prices = energyzero.parse(fixture("energyzero_hour_2025-12-16.json"))
    assert len(prices) == 72
    assert prices[0].start == DAY_START and prices[0].length == timedelta(hours=1)
    assert prices[0].eur_per_kwh == pytest.approx(0.077495)
    assert prices[-1].end == DAY_START + timedelta(hours=72)


def test_energyzero_quarters_have_15_minute_intervals() -> None:
    prices = energyzero.parse(fixture("energyzero_quarter_2025-12-16.json"))
    assert len(prices) == 96
    assert {p.length for p in prices} == {timedelta(minutes=15)}
    assert prices[0].eur_per_kwh == pytest.approx(0.07994)


def test_energyzero_rejects_missing_series_and_bad_values() -> None:
    with pytest.raises(PriceParseError, match="no 'all_in' list"):
        energyzero.parse(fixture("energyzero_hour_2025-12-16.json"), "all_in")
    document = json.loads(fixture("energyzero_hour_2025-12-16.json"))
    document["base"][3]["price"]["value"] = "n/a"
    with pytest.raises(PriceParseError, match=r"base\[3\]"):
        energyzero.parse(json.dumps(document).encode())


def test_entsoe_hourly_fills_positions_left_out_by_curve_a03() -> None:
    hourly = energyzero.parse(fixture("energyzero_hour_2025-12-16.json"))[:24]
    prices = entsoe.parse(fixture("entsoe_nl_hour_2025-12-16.xml"))
    assert len(prices) == 24  # the document holds only 21 points
    assert [p.eur_per_kwh for p in prices] == pytest.approx([p.eur_per_kwh for p in hourly], abs=1e-5)


def test_entsoe_quarter_hours_match_energyzero() -> None:
    prices = entsoe.parse(fixture("entsoe_nl_quarter_2025-12-16.xml"))
    expected = energyzero.parse(fixture("energyzero_quarter_2025-12-16.json"))
    assert [(p.start, round(p.eur_per_kwh, 5)) for p in prices] == [
        (p.start, round(p.eur_per_kwh, 5)) for p in expected
    ]


def test_entsoe_acknowledgement_is_an_error_with_its_reason() -> None:
    with pytest.raises(PriceParseError, match="No matching data found"):
        entsoe.parse(fixture("entsoe_acknowledgement_no_data.xml"))


def test_entsoe_lowest_classification_position_wins() -> None:
    def series(rank: int, price: str) -> str:
        return (
            "<TimeSeries><price_Measure_Unit.name>MWH</price_Measure_Unit.name>"
            f"<classificationSequence_AttributeInstanceComponent.position>{rank}"
            "</classificationSequence_AttributeInstanceComponent.position><Period><timeInterval>"
            "<start>2025-12-15T23:00Z</start><end>2025-12-16T01:00Z</end></timeInterval>"
            f"<resolution>PT60M</resolution><Point><position>1</position><price.amount>{price}</price.amount>"
            "</Point></Period></TimeSeries>"
        )

    inner = series(2, "999") + series(1, "100")
    body = f"<Publication_MarketDocument xmlns='x'>{inner}</Publication_MarketDocument>"
    prices = entsoe.parse(body.encode())
    assert [p.eur_per_kwh for p in prices] == [0.1, 0.1]


def test_entsoe_first_position_missing_is_an_error() -> None:
    body = fixture("entsoe_nl_hour_2025-12-16.xml").replace(
        b"<position>1</position>", b"<position>2</position>", 1
    )
    with pytest.raises(PriceParseError):
        entsoe.parse(body)


def test_entsoe_entity_expansion_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(PriceParseError, match="not a readable XML"):
        entsoe.parse(bomb)


def test_awattar_epoch_milliseconds_and_mwh() -> None:
    prices = awattar.parse(fixture("awattar_2025-12-16.json"))
    assert len(prices) == 24
    assert prices[0].start == DAY_START
    assert prices[0].eur_per_kwh == pytest.approx(0.07749, abs=1e-6)


def test_generic_csv_and_json_with_missing_end() -> None:
    prices = generic.parse_csv(fixture("generic_2025-12-16.csv"))
    assert len(prices) == 24
    body = json.dumps(
        {
            "prices": [
                {"start": "2025-12-16T00:00:00+01:00", "price": 80},
                {"start": "2025-12-16T01:00:00+01:00", "price": 90},
            ]
        }
    ).encode()
    parsed = generic.parse_json(body, "eur_per_mwh")
    assert [p.eur_per_kwh for p in parsed] == [0.08, 0.09]
    assert parsed[1].length == timedelta(hours=1)


def test_naive_times_overlaps_and_odd_lengths_are_rejected() -> None:
    with pytest.raises(PriceParseError, match="no offset"):
        generic.parse_csv(b"start,end,price\n2025-12-16T00:00,2025-12-16T01:00,0.1\n")
    overlap = (
        b"start,end,price\n2025-12-16T00:00Z,2025-12-16T01:00Z,0.1\n2025-12-16T00:30Z,2025-12-16T00:45Z,0.1\n"
    )
    with pytest.raises(PriceParseError, match="overlap"):
        generic.parse_csv(overlap)
    with pytest.raises(PriceParseError, match="not 15/30/60"):
        generic.parse_csv(b"start,end,price\n2025-12-16T00:00Z,2025-12-16T00:20Z,0.1\n")


def test_too_many_intervals_are_rejected_quickly() -> None:
    rows = "".join(f"{(DAY_START + n * timedelta(minutes=15)).isoformat()},0.1\n" for n in range(2100))
    with pytest.raises(PriceParseError, match="more than"):
        generic.parse_csv(("start,price\n" + rows).encode())


@pytest.mark.parametrize(
    "name",
    [
        "energyzero_hour_2025-12-16.json",
        "entsoe_nl_hour_2025-12-16.xml",
        "awattar_2025-12-16.json",
        "generic_2025-12-16.csv",
    ],
)
def test_file_format_is_recognised(name: str) -> None:
    prices = parse_prices(fixture(name))
    assert prices[0].start == DAY_START
    assert prices[0].eur_per_kwh == pytest.approx(0.0775, abs=1e-4)
