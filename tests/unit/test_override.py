"""A person's override becomes a dated slot that wins over what it covers, and ``auto`` removes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from controller.domain.events import OverrideRequested
from controller.domain.override import OVERRIDE_ID, apply_override, override_window
from controller.domain.schedule import Mode, Schedule

NOW = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def _request(mode: str, minutes: int = 60, power_w: int | None = 500) -> OverrideRequested:
    return OverrideRequested(
        at=NOW,
        source="test",
        mode=mode,
        power_w=power_w,
        until=NOW + timedelta(minutes=minutes),  # type: ignore[arg-type]
    )


def _schedule() -> Schedule:
    return Schedule.model_validate(
        {
            "default": {"mode": "netzero"},
            "recurring": [
                {
                    "id": "night",
                    "days": ["fri"],
                    "start": "01:00",
                    "end": "05:00",
                    "mode": "charge",
                    "power_w": 600,
                }
            ],
            "dated": [
                {"id": "party", "start": "2026-12-04T15:30", "end": "2026-12-04T18:00", "mode": "standby"},
                {"id": "later", "start": "2026-12-05T10:00", "end": "2026-12-05T11:00", "mode": "standby"},
            ],
        }
    )


def test_override_is_in_force_for_its_window_then_the_schedule_rules() -> None:
    schedule = apply_override(_schedule(), _request("discharge", minutes=30, power_w=450))
    slot = schedule.slot_at(NOW + timedelta(minutes=1))
    assert (slot.slot_id, slot.mode, slot.power_w) == (OVERRIDE_ID, Mode.DISCHARGE, 450)
    assert override_window(schedule) == (NOW, NOW + timedelta(minutes=30))
    assert schedule.slot_at(NOW + timedelta(minutes=31)).slot_id == "party~2"  # the cut slot resumes
    assert schedule.slot_at(NOW + timedelta(hours=3)).mode is Mode.NETZERO  # then the default
    assert schedule.recurring == _schedule().recurring


def test_overlapping_dated_slot_is_cut_around_the_override_and_others_kept() -> None:
    # party runs 15:30-18:00 local (14:30-17:00 UTC); the override covers 15:00-16:00 UTC
    schedule = apply_override(_schedule(), _request("charge", minutes=60))
    before = schedule.slot_at(NOW - timedelta(minutes=1))
    after = schedule.slot_at(NOW + timedelta(minutes=61))
    assert (before.slot_id, before.mode) == ("party~1", Mode.STANDBY)
    assert (after.slot_id, after.mode) == ("party~2", Mode.STANDBY)
    assert after.end == datetime(2026, 12, 4, 17, 0, tzinfo=UTC)
    assert "later" in [slot.id for slot in schedule.dated]


def test_a_new_override_replaces_the_old_one_and_auto_removes_it() -> None:
    first = apply_override(_schedule(), _request("charge", minutes=120))
    second = apply_override(first, _request("standby", minutes=10))
    assert [slot.id for slot in second.dated].count(OVERRIDE_ID) == 1
    assert second.slot_at(NOW + timedelta(minutes=5)).mode is Mode.STANDBY
    cleared = apply_override(second, _request("auto"))
    assert override_window(cleared) is None
    # what the override covered stays cut: the schedule rules again as it stands
    assert cleared.slot_at(NOW - timedelta(minutes=5)).slot_id == "party~1"
    assert cleared.slot_at(NOW + timedelta(minutes=5)).mode is Mode.NETZERO


def test_charge_at_zero_watts_is_standby_and_netzero_carries_no_power() -> None:
    assert apply_override(None, _request("charge", power_w=0)).slot_at(NOW).mode is Mode.STANDBY
    slot = apply_override(None, _request("netzero_plus", power_w=300)).slot_at(NOW)
    assert (slot.mode, slot.power_w) == (Mode.NETZERO_PLUS, None)


def test_no_schedule_yet_means_standby_outside_the_override() -> None:
    schedule = apply_override(None, _request("discharge"))
    assert schedule.slot_at(NOW + timedelta(hours=2)).mode is Mode.STANDBY
