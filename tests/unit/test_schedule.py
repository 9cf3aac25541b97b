"""The schedule model: errors naming slot and field, the published schema, DST-correct resolution."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from pydantic import ValidationError

from controller.domain.schedule import (
    DEFAULT_TIMEZONE,
    SCHEMA_PATH,
    Mode,
    Schedule,
    device_limits_context,
    schedule_json_schema,
)

AMS = ZoneInfo("Europe/Amsterdam")
ALL_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def local(*args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=AMS, fold=fold).astimezone(UTC)  # type: ignore[misc]


def slot(days: list[str], start: str, end: str, mode: str = "standby", **extra: Any) -> dict[str, Any]:
    return {"days": days, "start": start, "end": end, "mode": mode, **extra}


def errors_of(data: dict[str, Any], **context: int) -> list[tuple[tuple[str | int, ...], str, str]]:
    with pytest.raises(ValidationError) as caught:
        Schedule.model_validate(data, context=context or None)
    return [(tuple(e["loc"]), e["type"], e["msg"]) for e in caught.value.errors()]


# -- the published JSON Schema ---------------------------------------------------------------------------


def test_published_schema_file_matches_the_model() -> None:
    published = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert published == schedule_json_schema(), "run: python -m controller.domain.schedule"
    assert published["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_lists_modes_days_and_forbids_unknown_fields() -> None:
    schema = schedule_json_schema()
    defs = schema["$defs"]
    assert set(defs["Mode"]["enum"]) == {m.value for m in Mode}
    assert defs["Weekday"]["enum"] == ALL_DAYS
    assert defs["RecurringSlot"]["additionalProperties"] is False
    assert schema["additionalProperties"] is False
    assert schema["properties"]["timezone"]["default"] == "Europe/Amsterdam" == DEFAULT_TIMEZONE


def test_schema_example_validates() -> None:
    for example in schedule_json_schema()["examples"]:
        Schedule.model_validate(example)


# -- validation ------------------------------------------------------------------------------------------


def test_minimal_schedule_defaults_to_standby_in_amsterdam() -> None:
    schedule = Schedule.model_validate({})
    assert schedule.timezone == "Europe/Amsterdam"
    assert schedule.default.mode is Mode.STANDBY
    assert schedule.slot_at(utc(2026, 6, 1, 12)).mode is Mode.STANDBY
    assert schedule.next_change_after(utc(2026, 6, 1, 12)) is None


def test_power_above_device_maximum_names_slot_and_field() -> None:
    data = {
        "recurring": [
            slot(["mon"], "01:00", "02:00", "charge", power_w=500),
            slot(["tue"], "01:00", "02:00", "charge", power_w=600),
            slot(["wed"], "01:00", "02:00", "discharge", power_w=900),
            slot(["thu"], "01:00", "02:00", "charge", power_w=1200, id="big"),
        ]
    }
    found = errors_of(data, max_charge_w=1000, max_discharge_w=800)
    assert [(loc, kind) for loc, kind, _ in found] == [
        (("recurring", 2, "power_w"), "power_above_device_max"),
        (("recurring", 3, "power_w"), "power_above_device_max"),
    ]
    assert "slot 'big'" in found[1][2] and "1200 W" in found[1][2] and "1000 W" in found[1][2]


def test_validate_against_device_limits() -> None:
    schedule = Schedule.model_validate(
        {"recurring": [slot(["mon"], "17:00", "22:00", "netzero", max_w=2000)]}
    )
    assert schedule.validate_against(max_charge_w=None, max_discharge_w=None) == schedule
    with pytest.raises(ValidationError) as caught:
        schedule.validate_against(max_charge_w=1000, max_discharge_w=800)
    assert caught.value.errors()[0]["loc"] == ("recurring", 0, "max_w")
    assert device_limits_context(1, 2) == {"max_charge_w": 1, "max_discharge_w": 2}


@pytest.mark.parametrize(
    ("data", "loc", "kind"),
    [
        ({"recurring": [slot(["mon"], "01:00", "02:00", "boost")]}, ("recurring", 0, "mode"), "enum"),
        (
            {"dated": [{"start": "2026-05-01T10:00", "end": "2026-05-01T09:00", "mode": "standby"}]},
            ("dated", 0, "end"),
            "end_before_start",
        ),
        (
            {"dated": [{"start": "2026-05-01T10:00", "end": "2026-05-01T10:00", "mode": "standby"}]},
            ("dated", 0, "end"),
            "end_before_start",
        ),
        ({"timezone": "Europe/Atlantis"}, ("timezone",), "unknown_timezone"),
        (
            {"recurring": [slot(["mon"], "01:00", "02:00", "charge")]},
            ("recurring", 0, "power_w"),
            "power_required",
        ),
        (
            {"recurring": [slot(["mon"], "01:00", "02:00", "standby", power_w=5)]},
            ("recurring", 0, "power_w"),
            "field_not_allowed",
        ),
        (
            {"recurring": [slot(["mon"], "01:00", "02:00", "charge", power_w=5, max_w=3)]},
            ("recurring", 0, "max_w"),
            "field_not_allowed",
        ),
        (
            {"recurring": [slot(["mon"], "01:00", "02:00", "netzero_plus", target_offset_w=5)]},
            ("recurring", 0, "target_offset_w"),
            "field_not_allowed",
        ),
        ({"recurring": [slot(["mon", "mon"], "01:00", "02:00")]}, ("recurring", 0, "days"), "duplicate_day"),
        ({"recurring": [slot([], "01:00", "02:00")]}, ("recurring", 0, "days"), "too_short"),
        ({"recurring": [slot(["fun"], "01:00", "02:00")]}, ("recurring", 0, "days", 0), "enum"),
        (
            {"recurring": [slot(["mon"], "01:00+02:00", "02:00")]},
            ("recurring", 0, "start"),
            "local_time_required",
        ),
        ({"recurring": [slot(["mon"], "25:00", "02:00")]}, ("recurring", 0, "start"), "time_parsing"),
        (
            {"recurring": [slot(["mon"], "01:00", "02:00", colour="red")]},
            ("recurring", 0, "colour"),
            "extra_forbidden",
        ),
        ({"default": {"mode": "discharge"}}, ("default", "power_w"), "power_required"),
    ],
)
def test_field_errors_name_slot_and_field(
    data: dict[str, Any], loc: tuple[str | int, ...], kind: str
) -> None:
    found = errors_of(data)
    assert (loc, kind) in [(where, what) for where, what, _ in found], found


def test_overlapping_recurring_slots_are_rejected_with_day_and_time() -> None:
    data = {
        "recurring": [
            slot(["mon", "tue"], "22:00", "06:00", "charge", power_w=500, id="night"),
            slot(["wed"], "07:00", "09:00"),
            slot(["tue"], "05:30", "07:00", id="early"),
        ]
    }
    (loc, kind, message), *rest = errors_of(data)
    assert not rest
    assert (loc, kind) == (("recurring", 2, "start"), "slot_overlap")
    assert "'early'" in message and "'night'" in message and "tue at 05:30" in message


def test_week_wrap_overlap_is_found() -> None:
    data = {"recurring": [slot(["sun"], "23:00", "02:00"), slot(["mon"], "01:00", "03:00")]}
    assert errors_of(data)[0][:2] == (("recurring", 1, "start"), "slot_overlap")


def test_adjacent_and_whole_day_slots_are_fine() -> None:
    Schedule.model_validate(
        {
            "recurring": [
                slot(["mon"], "00:00", "00:00", "netzero"),
                slot(["tue"], "00:00", "06:00", "charge", power_w=100),
                slot(["tue"], "06:00", "00:00", "netzero_plus"),
                slot(["sun"], "22:00", "00:00"),
            ]
        }
    )


def test_overlapping_dated_slots_rejected_even_with_mixed_offsets() -> None:
    data = {
        "dated": [
            {"id": "a", "start": "2026-07-01T10:00", "end": "2026-07-01T12:00", "mode": "standby"},
            {
                "id": "b",
                "start": "2026-07-01T09:30:00+00:00",
                "end": "2026-07-01T10:30:00+00:00",
                "mode": "standby",
            },
        ]
    }
    (loc, kind, message), *_ = errors_of(data)
    assert (loc, kind) == (("dated", 1, "start"), "slot_overlap")
    assert "'b'" in message and "'a'" in message


def test_dated_slot_may_overlap_recurring_and_overrides_it() -> None:
    schedule = Schedule.model_validate(
        {
            "recurring": [slot(ALL_DAYS, "08:00", "20:00", "netzero")],
            "dated": [
                {
                    "id": "trip",
                    "start": "2026-07-01T10:00",
                    "end": "2026-07-01T12:00:00+02:00",
                    "mode": "discharge",
                    "power_w": 300,
                }
            ],
        }
    )
    assert schedule.slot_at(local(2026, 7, 1, 9, 59)).mode is Mode.NETZERO
    active = schedule.slot_at(local(2026, 7, 1, 10, 0))
    assert (active.mode, active.label, active.power_w) == (Mode.DISCHARGE, "trip", 300)
    assert schedule.next_change_after(local(2026, 7, 1, 10, 30)) == local(2026, 7, 1, 12, 0)
    assert schedule.slot_at(local(2026, 7, 1, 12, 0)).key == "recurring[0]"
    assert schedule.next_change_after(local(2026, 7, 1, 12, 0)) == local(2026, 7, 1, 20, 0)


# -- resolution: midnight, week wrap, DST ---------------------------------------------------------------


def test_slot_crossing_midnight_and_the_week_wrap() -> None:
    schedule = Schedule.model_validate(
        {
            "default": {"mode": "netzero"},
            "recurring": [slot(["sun"], "22:00", "06:30", "charge", power_w=800)],
        }
    )
    sunday_night = local(2026, 6, 7, 23, 0)  # 2026-06-07 is a Sunday
    monday_morning = local(2026, 6, 8, 6, 0)
    assert schedule.slot_at(sunday_night).mode is Mode.CHARGE
    assert schedule.slot_at(monday_morning).mode is Mode.CHARGE
    assert schedule.slot_at(local(2026, 6, 8, 6, 30)).mode is Mode.NETZERO
    assert schedule.slot_at(local(2026, 6, 8, 23, 0)).mode is Mode.NETZERO
    assert schedule.next_change_after(monday_morning) == local(2026, 6, 8, 6, 30)
    # From Monday the next change is a week-wrap away: next Sunday 22:00.
    assert schedule.next_change_after(local(2026, 6, 8, 7, 0)) == local(2026, 6, 14, 22, 0)


def test_spring_forward_2026_03_29() -> None:
    """02:00-03:00 does not exist; a slot ending inside the gap ends when the clock jumps."""
    schedule = Schedule.model_validate(
        {
            "recurring": [
                slot(["sun"], "01:00", "02:30", "charge", power_w=500, id="a"),
                slot(["sun"], "02:30", "04:00", "discharge", power_w=400, id="b"),
            ]
        }
    )
    start = local(2026, 3, 29, 1, 0)
    assert start == utc(2026, 3, 29, 0, 0)
    assert schedule.slot_at(start).label == "a"
    jump = utc(2026, 3, 29, 1, 0)  # 02:00 CET becomes 03:00 CEST
    assert schedule.next_change_after(start) == jump
    assert schedule.slot_at(jump - timedelta(seconds=1)).label == "a"
    assert schedule.slot_at(jump).label == "b"
    assert schedule.next_change_after(jump) == local(2026, 3, 29, 4, 0) == utc(2026, 3, 29, 2, 0)
    # A slot wholly inside the gap never runs.
    ghost = Schedule.model_validate({"recurring": [slot(["sun"], "02:10", "02:20", "netzero", id="ghost")]})
    assert all(ghost.slot_at(jump + timedelta(minutes=m)).label == "default" for m in range(-90, 90))
    assert ghost.next_change_after(start) == local(2026, 4, 5, 2, 10)


def test_fall_back_2026_10_25_slot_spanning_the_repeated_hour() -> None:
    """02:00-03:00 happens twice; a slot 01:30-03:30 lasts three real hours and covers both copies."""
    schedule = Schedule.model_validate(
        {"recurring": [slot(["sun"], "01:30", "03:30", "charge", power_w=600, id="long")]}
    )
    start = local(2026, 10, 25, 1, 30)
    end = local(2026, 10, 25, 3, 30)
    assert (start, end) == (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 2, 30))
    assert schedule.slot_at(start).label == "long"
    assert schedule.slot_at(local(2026, 10, 25, 2, 30, fold=0)).label == "long"  # first 02:30 (CEST)
    assert schedule.slot_at(local(2026, 10, 25, 2, 30, fold=1)).label == "long"  # second 02:30 (CET)
    assert schedule.slot_at(end).label == "default"
    assert schedule.next_change_after(start) == end
    active = schedule.slot_at(start)
    assert active.end is not None and active.start is not None
    assert active.end - active.start == timedelta(hours=3)


def test_fall_back_boundaries_inside_the_repeated_hour_use_the_first_occurrence() -> None:
    schedule = Schedule.model_validate(
        {
            "recurring": [
                slot(["sun"], "01:00", "02:30", "charge", power_w=100, id="before"),
                slot(["sun"], "02:30", "04:00", "discharge", power_w=100, id="after"),
            ]
        }
    )
    first_0230 = local(2026, 10, 25, 2, 30, fold=0)
    assert first_0230 == utc(2026, 10, 25, 0, 30)
    assert schedule.next_change_after(local(2026, 10, 25, 1, 0)) == first_0230
    assert schedule.slot_at(first_0230).label == "after"
    assert schedule.slot_at(local(2026, 10, 25, 2, 10, fold=1)).label == "after"


def test_dated_local_times_in_dst_gap_and_fold() -> None:
    schedule = Schedule.model_validate(
        {
            "dated": [
                {"id": "gap", "start": "2026-03-29T02:30", "end": "2026-03-29T05:00", "mode": "standby"},
                {
                    "id": "fold",
                    "start": "2026-10-25T02:30",
                    "end": "2026-10-25T02:30:00+01:00",
                    "mode": "standby",
                },
            ]
        }
    )
    assert schedule.slot_at(utc(2026, 3, 29, 1, 0)).label == "gap"  # 03:00 CEST, the jump
    assert schedule.slot_at(utc(2026, 3, 29, 0, 59)).label == "default"
    fold = schedule.slot_at(utc(2026, 10, 25, 1, 0))
    assert (
        fold.label == "fold"
        and fold.start == utc(2026, 10, 25, 0, 30)
        and fold.end == utc(2026, 10, 25, 1, 30)
    )


@pytest.mark.parametrize("day", [29, 30])
def test_daily_slot_is_stable_across_spring_forward(day: int) -> None:
    schedule = Schedule.model_validate({"recurring": [slot(ALL_DAYS, "07:00", "09:00", "netzero", id="am")]})
    morning = local(2026, 3, day, 8, 0)
    assert schedule.slot_at(morning).label == "am"
    assert schedule.next_change_after(morning) == local(2026, 3, day, 9, 0)


def test_adjacent_occurrences_of_one_slot_are_not_a_change() -> None:
    schedule = Schedule.model_validate(
        {"recurring": [slot(["mon", "tue"], "00:00", "00:00", "netzero")], "default": {"mode": "standby"}}
    )
    monday = local(2026, 6, 8, 12, 0)
    assert schedule.next_change_after(monday) == local(2026, 6, 10, 0, 0)


def test_naive_datetimes_are_refused_by_resolution() -> None:
    schedule = Schedule.model_validate({})
    with pytest.raises(ValueError, match="aware"):
        schedule.slot_at(datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        schedule.next_change_after(datetime(2026, 1, 1))


def test_frozen_clock_walk_through_the_repeated_hour() -> None:
    """Walk over the autumn change with a frozen clock; the slot is one continuous UTC interval."""
    schedule = Schedule.model_validate(
        {"recurring": [slot(["sun"], "02:00", "03:00", "charge", power_w=100)]}
    )
    # 02:00 CEST (00:00 UTC) .. 03:00 CET (02:00 UTC): two real hours of charging.
    with freeze_time("2026-10-24 23:00:00") as frozen:
        for _ in range(4 * 6):
            now = datetime.now(UTC)
            charging = utc(2026, 10, 25, 0, 0) <= now < utc(2026, 10, 25, 2, 0)
            assert (schedule.slot_at(now).mode is Mode.CHARGE) == charging, now
            frozen.tick(timedelta(minutes=10))
    assert schedule.next_change_after(utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 25, 2, 0)


# -- the schema alone is enough for other tools ---------------------------------------------------------

VALID_FOR_BOTH: list[dict[str, Any]] = [
    {},
    {"timezone": "UTC", "default": {"mode": "netzero", "max_w": 600, "target_offset_w": -20.5}},
    {"recurring": [slot(ALL_DAYS, "22:00", "06:30:15", "charge", power_w=800, id="night")]},
    {"recurring": [slot(["sat"], "00:00", "00:00", "netzero_plus", max_w=300)]},
    {"dated": [{"start": "2026-12-24T00:00", "end": "2026-12-27T00:00:00Z", "mode": "standby"}]},
    {"dated": [{"start": "2026-12-24", "end": "2026-12-27", "mode": "standby"}]},
    {"dated": [{"start": "2026-03-29T02:30:00+01:00", "end": "2026-03-29T05:00", "mode": "discharge",
                "power_w": 250}]},
]  # fmt: skip
INVALID_FOR_BOTH: list[dict[str, Any]] = [
    {"recurring": [slot(["mon"], "01:00", "02:00", "charge")]},
    {"recurring": [slot(["mon"], "01:00", "02:00", "standby", power_w=100)]},
    {"recurring": [slot(["mon"], "01:00", "02:00", "netzero_plus", target_offset_w=5)]},
    {"recurring": [slot(["mon"], "01:00", "02:00", "discharge", power_w=100, max_w=5)]},
    {"recurring": [slot(["mon", "mon"], "01:00", "02:00")]},
    {"recurring": [slot(["mon"], "1:00", "02:00")]},
    {"recurring": [slot(["mon"], "01:00+01:00", "02:00")]},
    {"recurring": [slot(["mon"], "01:00", "02:00", "boost")]},
    {"dated": [{"start": "2026-12-24T10", "end": "2026-12-27T00:00", "mode": "standby"}]},
    {"default": {"mode": "standby"}, "extra": 1},
]


def schema_validator() -> Any:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    return jsonschema_rs.Draft202012Validator(schedule_json_schema())


@pytest.mark.parametrize("data", VALID_FOR_BOTH)
def test_schema_and_model_accept_the_same_valid_schedules(data: dict[str, Any]) -> None:
    Schedule.model_validate(data)
    assert schema_validator().is_valid(data)


@pytest.mark.parametrize("data", INVALID_FOR_BOTH)
def test_schema_and_model_reject_the_same_malformed_schedules(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Schedule.model_validate(data)
    assert not schema_validator().is_valid(data)


def test_model_output_is_valid_against_the_schema() -> None:
    validator = schema_validator()
    for example in VALID_FOR_BOTH + schedule_json_schema()["examples"]:
        assert validator.is_valid(Schedule.model_validate(example).model_dump(mode="json"))
