"""A schedule travels as a typed ``Schedule`` past the edge: validated once, by whoever received it."""

from __future__ import annotations

from controller.domain.events import ScheduleLoaded
from controller.domain.schedule import Mode, Schedule
from controller.domain.states import State
from tests.unit._core_support import T0, make_driver, schedule_of


def test_a_schedule_the_worker_validated_reaches_the_core_as_that_very_object() -> None:
    raw = schedule_of("charge", power_w=400)
    schedule = Schedule.model_validate(raw)
    driver = make_driver()
    driver.battery(50.0)
    driver.feed(ScheduleLoaded.of(schedule, raw, at=driver.now, source="server", etag="e1", version=3))
    assert driver.core.inputs.schedule is schedule
    assert driver.core.state is State.CHARGING


def test_a_schedule_read_from_the_log_is_validated_once_and_only_then() -> None:
    raw = schedule_of("netzero")
    event = ScheduleLoaded(at=T0, source="log", schedule=raw)
    first = event.validated()
    assert first is event.validated()
    assert first.slot_at(T0).mode is Mode.NETZERO


def test_the_typed_schedule_is_not_part_of_the_logged_event() -> None:
    raw = schedule_of("discharge", power_w=300)
    event = ScheduleLoaded.of(Schedule.model_validate(raw), raw, at=T0, source="server")
    assert "_validated" not in event.model_dump_json() and event.model_dump()["schedule"] == raw
    again = ScheduleLoaded.model_validate_json(event.model_dump_json())
    assert again == event
    assert again.validated() == event.validated() and again.validated() is not event.validated()


def test_a_logged_schedule_that_no_longer_validates_is_ignored() -> None:
    driver = make_driver()
    driver.battery(50.0)
    driver.schedule(schedule_of("charge", power_w=400))
    kept = driver.core.inputs.schedule
    driver.feed(ScheduleLoaded(at=driver.now, source="log", schedule={"default": {"mode": "sing"}}))
    assert driver.core.inputs.schedule is kept
    assert driver.core.state is State.CHARGING
