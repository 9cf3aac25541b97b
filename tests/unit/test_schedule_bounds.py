"""Bounded schedules: O(n log n) overlap checks with a short report, slot and watt caps, sane years."""

from __future__ import annotations

import json
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from controller.domain.schedule import (
    MAX_BATTERY_W,
    MAX_OFFSET_W,
    MAX_OVERLAPS_REPORTED,
    MAX_SCHEDULE_BYTES,
    MAX_SLOTS,
    SCHEMA_PATH,
    Schedule,
    schedule_json_schema,
)


def _errors(body: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(body)
    return list(caught.value.errors(include_url=False))


def test_the_caps_keep_their_agreed_values() -> None:
    assert (MAX_SCHEDULE_BYTES, MAX_SLOTS, MAX_BATTERY_W, MAX_OFFSET_W) == (256 * 1024, 1000, 10_000, 1_000)


def test_identical_slots_give_a_short_report_with_a_count() -> None:
    slot = {"start": "2026-12-24T00:00", "end": "2026-12-25T00:00", "mode": "standby"}
    errors = _errors({"dated": [slot] * MAX_SLOTS})
    assert len(errors) == MAX_OVERLAPS_REPORTED + 1
    assert f"{MAX_SLOTS - 1} dated slots overlap" in errors[-1]["msg"]
    assert errors[0]["loc"] == ("dated", 1, "start") and "overlaps dated slot 0" in errors[0]["msg"]


def test_identical_recurring_slots_give_a_short_report() -> None:
    slot = {"days": ["mon", "tue"], "start": "01:00", "end": "02:00", "mode": "standby"}
    errors = _errors({"recurring": [slot] * 500})
    assert len(errors) == MAX_OVERLAPS_REPORTED + 1
    assert "on mon at 01:00" in errors[0]["msg"]


def test_more_than_max_slots_are_refused_before_validating_them() -> None:
    slot = {"days": ["mon"], "start": "01:00", "end": "02:00", "mode": "bogus"}
    errors = _errors({"recurring": [slot] * (MAX_SLOTS // 2 + 1), "dated": [{}] * (MAX_SLOTS // 2)})
    assert [e["type"] for e in errors] == ["too_many_slots"]


def _brute_force_overlap(spans: list[tuple[int, int]]) -> bool:
    return any(a < d and c < b for i, (a, b) in enumerate(spans) for c, d in spans[:i])


@pytest.mark.parametrize("seed", range(40))
def test_overlap_sweep_agrees_with_checking_every_pair(seed: int) -> None:
    rng = random.Random(seed)
    base = datetime(2026, 12, 1)
    spans = []
    for _ in range(rng.randint(1, 8)):
        start = rng.randint(0, 40)
        spans.append((start, start + rng.randint(1, 10)))
    dated = [
        {
            "start": (base + timedelta(hours=a)).isoformat(),
            "end": (base + timedelta(hours=b)).isoformat(),
            "mode": "standby",
        }
        for a, b in spans
    ]
    try:
        Schedule.model_validate({"dated": dated, "timezone": "UTC"})
        found = False
    except ValidationError as err:
        found = True
        for error in err.errors():
            index = error["loc"][1] if len(error["loc"]) > 1 else None
            if isinstance(index, int):  # the named slot really overlaps another one
                a, b = spans[index]
                assert any(c < b and a < d for j, (c, d) in enumerate(spans) if j != index)
    assert found == _brute_force_overlap(spans)


@pytest.mark.parametrize(
    "slot",
    [
        {"mode": "charge", "power_w": MAX_BATTERY_W + 1},
        {"mode": "discharge", "power_w": 10**9},
        {"mode": "netzero", "max_w": 10**9},
        {"mode": "netzero", "target_offset_w": 1e12},
        {"mode": "netzero", "target_offset_w": -1e12},
        {"mode": "netzero", "target_offset_w": float("nan")},
    ],
)
def test_physical_bounds_hold_without_device_limits(slot: dict[str, Any]) -> None:
    assert _errors({"default": slot})


def test_physical_bounds_are_in_the_published_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema == schedule_json_schema()
    action = schema["$defs"]["SlotAction"]["properties"]
    assert action["power_w"]["anyOf"][0]["maximum"] == MAX_BATTERY_W
    assert action["target_offset_w"]["anyOf"][0]["maximum"] == MAX_OFFSET_W


@pytest.mark.parametrize(
    ("start", "end"),
    [("0001-01-01T00:00+14:00", "2026-01-01T00:00"), ("2026-01-01T00:00", "9999-12-31T23:00-05:00")],
)
def test_dates_at_the_calendars_edge_are_a_validation_error(start: str, end: str) -> None:
    errors = _errors({"dated": [{"start": start, "end": end, "mode": "standby"}]})
    assert errors[0]["type"] == "year_out_of_range"
