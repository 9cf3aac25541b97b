"""The policy table: every way into and out of SafetyLimit is one of its rows, with a reason.

The table is read exhaustively (every state × every combination of facts), compared with the priority
order the controller has always had, and then driven through the real core.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Iterator

import pytest

from controller.domain.events import StateChanged
from controller.domain.states import POLICY, TRANSITIONS, Fact, Rule, State, decide
from tests.unit._core_support import Driver, make_driver, schedule_of

F = Fact
SLOT_FACTS = {
    "standby": (F.SLOT_STANDBY,),
    "charge": (F.SLOT_CHARGE, F.SLOT_CHARGES),
    "discharge": (F.SLOT_DISCHARGE, F.SLOT_DISCHARGES),
    "netzero": (F.SLOT_NETZERO, F.SLOT_DISCHARGES, F.SLOT_REGULATES),
    "netzero_plus": (F.SLOT_NETZERO_PLUS, F.SLOT_CHARGES, F.SLOT_REGULATES),
}
SLOT_STATE = {
    "standby": State.STANDBY,
    "charge": State.CHARGING,
    "discharge": State.DISCHARGING,
    "netzero": State.NETZERO,
    "netzero_plus": State.NETZERO_PLUS,
}
INPUT_FACTS = (
    F.FAULT,
    F.TEMPERATURE_HIGH,
    F.NO_BATTERY_DATA,
    F.BATTERY_STALE,
    F.SOC_HIGH,
    F.SOC_LOW,
    F.NO_METER_DATA,
    F.METER_STALE,
)


def every_situation() -> Iterator[tuple[str, frozenset[Fact]]]:
    """Every slot mode with every subset of the input facts."""
    for mode, slot_facts in SLOT_FACTS.items():
        for bits in itertools.product((False, True), repeat=len(INPUT_FACTS)):
            chosen = {fact for fact, on in zip(INPUT_FACTS, bits, strict=True) if on}
            yield mode, frozenset(chosen | set(slot_facts))


def priority_order(mode: str, facts: frozenset[Fact]) -> State:
    """The decision order the controller had as an if-ladder before the table carried it."""
    if F.FAULT in facts or F.TEMPERATURE_HIGH in facts:
        return State.SAFETY_LIMIT
    if F.NO_BATTERY_DATA in facts or F.BATTERY_STALE in facts:
        return State.STANDBY
    if mode in ("charge", "netzero_plus") and F.SOC_HIGH in facts:
        return State.SAFETY_LIMIT
    if mode in ("discharge", "netzero") and F.SOC_LOW in facts:
        return State.SAFETY_LIMIT
    if mode in ("netzero", "netzero_plus") and (F.NO_METER_DATA in facts or F.METER_STALE in facts):
        return State.STANDBY
    return SLOT_STATE[mode]


def moves() -> set[tuple[State, State, Rule]]:
    """Every (from, to, rule) the table can produce."""
    found: set[tuple[State, State, Rule]] = set()
    for _mode, facts in every_situation():
        for state in State:
            rule = decide(state, facts)
            if rule.dest is not state:
                found.add((state, rule.dest, rule))
    return found


def test_the_table_decides_every_situation_in_the_old_priority_order() -> None:
    for mode, facts in every_situation():
        for state in State:
            assert decide(state, facts).dest is priority_order(mode, facts), (state, mode, sorted(facts))


def test_decide_refuses_facts_without_a_slot() -> None:
    with pytest.raises(ValueError, match="no rule applies"):
        decide(State.STANDBY, frozenset({F.SOC_LOW}))


def test_every_way_into_and_out_of_safety_limit_is_a_row_with_a_reason() -> None:
    found = moves()
    into = {(rule.trigger, rule.reason) for src, dest, rule in found if dest is State.SAFETY_LIMIT}
    out = {(rule.trigger, dest) for src, dest, rule in found if src is State.SAFETY_LIMIT}
    rows_into = {(r.trigger, r.reason) for r in POLICY if r.dest is State.SAFETY_LIMIT}
    leaving = [r for r in POLICY if State.SAFETY_LIMIT in r.sources and r.dest is not State.SAFETY_LIMIT]
    rows_out = {(r.trigger, r.dest) for r in leaving}
    assert into == rows_into  # every row into SafetyLimit is used, and nothing else leads there
    assert out == rows_out
    assert {trigger for trigger, _ in into} == {"fault", "temperature_high", "soc_high", "soc_low"}
    assert {trigger for trigger, _ in out} == {
        "battery_missing",
        "battery_stale",
        "meter_missing",
        "meter_stale",
        "cleared",
    }
    for src, dest, rule in found:
        assert rule.reason.strip(), rule
        machine_rows = [t for t in TRANSITIONS if t["trigger"] == rule.trigger and t["dest"] is dest]
        assert any(src in row["source"] for row in machine_rows), (src, dest, rule.trigger)


def test_a_fault_that_still_holds_keeps_safety_limit_whatever_else_happens() -> None:
    for mode, facts in every_situation():
        if F.FAULT in facts:
            assert decide(State.SAFETY_LIMIT, facts).dest is State.SAFETY_LIMIT, (mode, sorted(facts))


def test_every_reason_names_only_figures_the_core_supplies() -> None:
    driver = make_driver()
    fields = set(driver.core.reason_fields(driver.now))
    for rule in POLICY:
        named = {name for _, name, _, _ in string.Formatter().parse(rule.reason) if name}
        assert named <= fields, (rule.trigger, named - fields)


def _safety_changes(driver: Driver) -> list[StateChanged]:
    return [
        e
        for e in driver.log
        if isinstance(e, StateChanged) and State.SAFETY_LIMIT.value in (e.from_state, e.to_state)
    ]


def test_the_core_moves_into_and_out_of_safety_limit_only_along_rows() -> None:
    driver = make_driver(meter_stale_s=10, battery_stale_s=10)
    driver.battery(50.0)
    driver.meter(100.0)
    driver.schedule(schedule_of("netzero"))
    driver.fault()  # fault
    driver.fault(active=False)  # cleared
    driver.battery(50.0, temperature_c=56.0)  # temperature_high
    driver.battery(50.0, temperature_c=40.0)  # cleared
    driver.battery(9.0)  # soc_low
    driver.advance(11.0)
    driver.tick()  # battery_stale: out of SafetyLimit to Standby
    driver.battery(50.0)
    driver.meter(100.0)
    driver.schedule(schedule_of("charge", power_w=300))
    driver.battery(100.0)  # soc_high
    changes = _safety_changes(driver)
    assert [(e.from_state, e.to_state, e.trigger) for e in changes] == [
        ("NetZero", "SafetyLimit", "fault"),
        ("SafetyLimit", "NetZero", "cleared"),
        ("NetZero", "SafetyLimit", "temperature_high"),
        ("SafetyLimit", "NetZero", "cleared"),
        ("NetZero", "SafetyLimit", "soc_low"),
        ("SafetyLimit", "Standby", "battery_stale"),
        ("Charging", "SafetyLimit", "soc_high"),
    ]
    for change in changes:
        rule = next(
            r
            for r in POLICY
            if r.trigger == change.trigger and r.dest.value == change.to_state
            and State(change.from_state) in r.sources
        )  # fmt: skip
        assert change.reason and "{" not in change.reason, change.reason
        fixed = rule.reason.split("{", 1)[0]
        assert change.reason.startswith(fixed), (change.reason, rule.reason)
