"""Rebuilding the core from its event log gives the live machine's state, without re-triggering anything."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings

from controller.domain.commands import Command
from controller.domain.events import EventBase, event_adapter
from controller.domain.machine import ControllerCore
from controller.domain.projection import project
from controller.domain.regulation import PowerLimits, RegulationMode, RegulatorDecision
from controller.domain.states import State
from controller.settings import LimitSettings
from tests.unit._core_support import Driver, ProportionalRegulator, make_driver, schedule_of
from tests.unit.test_machine_properties import LIMITS, apply, scenarios


class CountingRegulator(ProportionalRegulator):
    """Counts ``decide`` calls: a rebuild must not ask for decisions."""

    def __init__(self) -> None:
        super().__init__()
        self.decisions = 0

    def decide(
        self, now: Any, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        self.decisions += 1
        return super().decide(now, mode, limits, target_offset_w)


def roundtrip(events: list[EventBase]) -> list[EventBase]:
    """Through JSON and back, as the event log stores them."""
    adapter = event_adapter()
    return [adapter.validate_json(event.model_dump_json()) for event in events]


def rebuilt_from(driver: Driver, regulator: ProportionalRegulator | None = None) -> ControllerCore:
    core = ControllerCore(driver.core.limits, regulator or ProportionalRegulator())
    core.restore(roundtrip(driver.log))
    return core


def assert_same(live: ControllerCore, rebuilt: ControllerCore) -> None:
    assert rebuilt.state is live.state
    assert rebuilt.last_command == live.last_command
    assert rebuilt.slot.same_action(live.slot)
    assert rebuilt.state_reason == live.state_reason
    for name in ("soc_low_latched", "soc_high_latched", "temperature_latched", "faults", "meter", "battery"):
        assert getattr(rebuilt.inputs, name) == getattr(live.inputs, name), name


def scripted() -> Driver:
    driver = make_driver()
    driver.battery(50.0)
    driver.meter(300.0)
    driver.schedule(schedule_of("netzero"))
    for second in range(1, 20):
        driver.advance(1)
        driver.meter(300.0 - driver.core.last_command.battery_w + second)  # type: ignore[union-attr]
        driver.tick()
    driver.battery(9.0)  # SafetyLimit, latched low
    driver.advance(1)
    driver.battery(11.0)  # still latched (needs 12 %)
    return driver


def test_rebuild_gives_the_live_state_and_emits_nothing() -> None:
    driver = scripted()
    assert driver.core.state is State.SAFETY_LIMIT
    regulator = CountingRegulator()
    rebuilt = rebuilt_from(driver, regulator)
    assert_same(driver.core, rebuilt)
    assert rebuilt.take_pending() == []
    assert regulator.decisions == 0  # no decisions, no commands: nothing is re-triggered
    assert regulator.commanded_w == driver.core.regulator.commanded_w  # type: ignore[attr-defined]
    assert regulator.resets == driver.core.regulator.resets  # type: ignore[attr-defined]


def test_rebuilt_core_continues_exactly_like_the_live_one() -> None:
    driver = scripted()
    twin = Driver(rebuilt_from(driver), now=driver.now)
    for step in (driver, twin):
        step.advance(1)
        step.battery(12.5)  # latch clears: back to NetZero
        step.advance(1)
        step.meter(500.0)
        step.tick(1)
        step.schedule(schedule_of("charge", power_w=700))
    assert driver.core.state is State.CHARGING
    assert len(twin.log) > 5
    assert [e.model_dump() for e in twin.log] == [e.model_dump() for e in driver.log[-len(twin.log) :]]
    assert_same(driver.core, twin.core)


def test_projection_folds_state_command_slot_and_latches() -> None:
    driver = scripted()
    projection = project(driver.log, driver.core.limits)
    assert projection.state is State.SAFETY_LIMIT
    assert projection.last_command == Command.standby()
    assert projection.slot is not None and projection.slot.mode.value == "netzero"
    assert projection.inputs.soc_low_latched
    assert projection.events_folded == len(driver.log)
    assert projection.kinds_seen["state_changed"] >= 2


def test_restored_slot_is_not_announced_again() -> None:
    driver = make_driver()
    driver.battery(50.0)
    driver.schedule(schedule_of("charge", power_w=300))
    rebuilt = Driver(rebuilt_from(driver), now=driver.now)
    rebuilt.battery(50.0)
    events = rebuilt.tick(1)
    assert events == []  # same slot, same command: nothing new
    assert rebuilt.core.state is State.CHARGING


def test_empty_log_gives_the_initial_state() -> None:
    core = ControllerCore(LimitSettings().domain(), ProportionalRegulator())
    projection = core.restore([])
    assert core.state is State.STANDBY and core.last_command is None and projection.events_folded == 0


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=scenarios)
def test_rebuild_after_random_history_matches_the_live_machine(ops: list[tuple[str, float, Any]]) -> None:
    driver = make_driver(**LIMITS)
    for op in ops:
        apply(driver, op)
    rebuilt = rebuilt_from(driver)
    assert_same(driver.core, rebuilt)
    # The twins stay in step on what comes next.
    twin = Driver(rebuilt, now=driver.now)
    for step in (driver, twin):
        step.advance(1)
        step.battery(50.0)
        step.meter(123.0)
        step.tick(1)
    assert [e.model_dump() for e in twin.log] == [e.model_dump() for e in driver.log[-len(twin.log) :]]
    assert twin.core.state is driver.core.state
