"""Table tests of every transition, the safety guards with hysteresis, staleness, and the commands."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from transitions import Machine

from controller.domain.commands import Command, CommandKind
from controller.domain.events import (
    CommandIssued,
    LagEstimated,
    SlotChanged,
    StateChanged,
)
from controller.domain.regulation import PowerLimits, RegulationMode, RegulatorDecision
from controller.domain.states import POLICY, REGULATED, TRANSITIONS, TRIGGERS, State
from tests.unit._core_support import T0, Driver, ProportionalRegulator, make_driver, schedule_of

MODE_OF = {
    State.STANDBY: schedule_of("standby"),
    State.CHARGING: schedule_of("charge", power_w=400),
    State.DISCHARGING: schedule_of("discharge", power_w=300),
    State.NETZERO: schedule_of("netzero"),
    State.NETZERO_PLUS: schedule_of("netzero_plus"),
}
KIND_OF = {
    State.STANDBY: CommandKind.STANDBY,
    State.CHARGING: CommandKind.CHARGE,
    State.DISCHARGING: CommandKind.DISCHARGE,
    State.NETZERO: CommandKind.DISCHARGE,
    State.NETZERO_PLUS: CommandKind.CHARGE,
    State.SAFETY_LIMIT: CommandKind.STANDBY,
}
GRID_FOR = {State.NETZERO: 250.0, State.NETZERO_PLUS: -250.0}


def into(state: State) -> Driver:
    """A core brought into ``state`` through real inputs only."""
    driver = make_driver()
    driver.battery(50.0)
    driver.meter(GRID_FOR.get(state, 0.0))
    if state is State.SAFETY_LIMIT:
        driver.schedule(MODE_OF[State.STANDBY])
        driver.fault()
    else:
        driver.schedule(MODE_OF[state])
    assert driver.core.state is state
    return driver


# -- the table itself -------------------------------------------------------------------------------------


def test_states_are_exactly_the_six_named_ones() -> None:
    assert [s.value for s in State] == [
        "Standby",
        "Charging",
        "Discharging",
        "NetZero",
        "NetZeroPlus",
        "SafetyLimit",
    ]
    assert [s.name for s in State] == [
        "STANDBY",
        "CHARGING",
        "DISCHARGING",
        "NETZERO",
        "NETZERO_PLUS",
        "SAFETY_LIMIT",
    ]


def test_transition_table_is_the_policy_and_covers_every_pair() -> None:
    assert len(TRANSITIONS) == len(POLICY)
    for row, rule in zip(TRANSITIONS, POLICY, strict=True):
        assert (row["trigger"], row["dest"]) == (rule.trigger, rule.dest)
        assert set(row["source"]) == set(rule.sources) - {rule.dest}
        assert len(row["conditions"]) == len(rule.conditions) > 0
    pairs = {(src, row["dest"]) for row in TRANSITIONS for src in row["source"]}
    assert pairs == {(a, b) for a in State for b in State if a is not b}
    assert set(TRIGGERS) == {row["trigger"] for row in TRANSITIONS}
    assert all(row["after"] == "record_state_changed" for row in TRANSITIONS)


def test_machine_has_no_auto_transitions_and_rejects_unknown_triggers() -> None:
    core = make_driver().core
    assert isinstance(core.machine, Machine)
    assert not hasattr(core, "to_Charging") and not hasattr(core, "to_CHARGING")
    assert core.machine.auto_transitions is False
    assert core.machine.send_event is True


PAIRS = [(a, b) for a in State for b in State if a is not b]


@pytest.mark.parametrize(("source", "dest"), PAIRS, ids=[f"{a}->{b}" for a, b in PAIRS])
def test_every_transition(source: State, dest: State) -> None:
    driver = into(source)
    before = driver.core.last_command
    if dest in GRID_FOR:  # a grid reading that makes the regulator propose ±250 W
        driver.meter(GRID_FOR[dest] - (before.battery_w if before else 0))
        before = driver.core.last_command
    if dest is State.SAFETY_LIMIT:
        events = driver.fault()
        trigger = "fault"
    elif source is State.SAFETY_LIMIT:
        assert driver.changes(driver.schedule(MODE_OF[dest])) == []  # the fault still holds
        events = driver.fault(active=False)
        trigger = "cleared"
    else:
        events = driver.schedule(MODE_OF[dest])
        trigger = "follow_slot"  # the schedule's default slot took over
    assert driver.core.state is dest
    assert driver.changes(events) == [(source.value, dest.value, trigger)]
    change = next(i for i, e in enumerate(events) if isinstance(e, StateChanged))
    issued = [e for e in events[change:] if isinstance(e, CommandIssued)]
    if KIND_OF[dest] is CommandKind.STANDBY and before == Command.standby():
        assert issued == []  # never the same command twice
    else:
        assert len(issued) == 1 and issued[0].state == dest.value
        assert issued[0].command.kind is KIND_OF[dest]


CAUSES = {
    "slot_started": "follow_slot",
    "slot_ended": "follow_slot",
    "meter_reading": "follow_slot",
    "battery_reading": "soc_low",
    "clock_tick": "battery_stale",
    "source_stale": "meter_stale",
    "source_recovered": "follow_slot",
    "device_fault": "fault",
}


@pytest.mark.parametrize("trigger", CAUSES)
def test_each_cause_leads_to_a_transition(trigger: str) -> None:
    """Each kind of input (or tick) can move the state; the policy rule names the transition."""
    driver = make_driver(meter_stale_s=10, battery_stale_s=10)
    driver.battery(50.0)
    driver.meter(200.0)
    if trigger == "slot_started":
        dated = {"start": "2026-06-01T12:05", "end": "2026-06-01T12:10", "mode": "charge", "power_w": 500}
        driver.schedule({"dated": [dated]})
        driver.advance(299.0)
        driver.battery(50.0)
        expected = (State.STANDBY, State.CHARGING)
        events = driver.tick(1.0)
    elif trigger == "slot_ended":
        dated = {"start": "2026-06-01T11:00", "end": "2026-06-01T12:00:05", "mode": "charge", "power_w": 500}
        driver.schedule({"dated": [dated]})
        driver.advance(4.0)
        driver.battery(50.0)
        expected = (State.CHARGING, State.STANDBY)
        events = driver.tick(1.0)
    elif trigger == "meter_reading":
        driver.schedule(schedule_of("netzero"))
        driver.advance(11.0)
        driver.battery(50.0)
        driver.tick()
        expected = (State.STANDBY, State.NETZERO)
        events = driver.meter(200.0)
    elif trigger == "battery_reading":
        driver.schedule(schedule_of("discharge", power_w=300))
        expected = (State.DISCHARGING, State.SAFETY_LIMIT)
        events = driver.battery(9.0)
    elif trigger == "clock_tick":
        driver.schedule(schedule_of("charge", power_w=300))
        expected = (State.CHARGING, State.STANDBY)
        events = driver.tick(10.5)
    elif trigger == "source_stale":
        driver.schedule(schedule_of("netzero"))
        expected = (State.NETZERO, State.STANDBY)
        events = driver.stale("meter")
    elif trigger == "source_recovered":
        driver.schedule(schedule_of("netzero"))
        driver.stale("battery")
        expected = (State.STANDBY, State.NETZERO)
        events = driver.recovered("battery")
    else:
        driver.schedule(schedule_of("netzero_plus"))
        expected = (State.NETZERO_PLUS, State.SAFETY_LIMIT)
        events = driver.fault()
    assert driver.changes(events) == [(expected[0].value, expected[1].value, CAUSES[trigger])]
    assert driver.core.state is expected[1]
    issued = [e for e in events if isinstance(e, CommandIssued)]
    assert all(e.inputs["trigger"] == trigger for e in issued)  # the audit names what caused it


# -- schedule-driven transitions with a virtual clock ------------------------------------------------------


def test_slot_boundaries_follow_the_virtual_clock() -> None:
    driver = make_driver()
    driver.schedule(
        {
            "recurring": [
                {
                    "days": ["mon"],
                    "start": "12:00",
                    "end": "12:00:30",
                    "mode": "charge",
                    "power_w": 600,
                    "id": "c",
                },
                {"days": ["mon"], "start": "12:00:30", "end": "12:01", "mode": "discharge", "power_w": 200},
            ]
        }
    )  # T0 is Monday 10:00 UTC = 12:00 CEST
    for second in range(0, 75):
        if second % 5 == 0:
            driver.battery(50.0)
        driver.tick(0.0 if second == 0 else 1.0)
    seen = [(e.at - T0, e.slot_id, e.ends_at) for e in driver.log if isinstance(e, SlotChanged)]
    assert seen == [
        (timedelta(0), "c", T0 + timedelta(seconds=30)),
        (timedelta(seconds=30), "recurring[1]", T0 + timedelta(seconds=60)),
        (timedelta(seconds=60), "default", T0 + timedelta(days=7)),
    ]
    chain = [(a, b, t) for a, b, t in driver.changes(driver.log)]
    assert chain == [
        ("Standby", "Charging", "follow_slot"),
        ("Charging", "Discharging", "follow_slot"),
        ("Discharging", "Standby", "follow_slot"),
    ]
    causes = [e.inputs["trigger"] for e in driver.log if isinstance(e, CommandIssued)]
    assert causes == ["slot_started", "battery_reading", "slot_started", "slot_ended"]
    assert driver.commands(driver.log) == [
        Command.standby(),  # on the schedule load: no battery data yet
        Command.charge(600),
        Command.discharge(200),
        Command.standby(),
    ]


def test_command_waits_for_battery_data_then_follows_slot() -> None:
    driver = make_driver()
    events = driver.schedule(schedule_of("charge", power_w=500))
    assert [type(e) for e in events] == [SlotChanged, CommandIssued]
    assert driver.commands(events) == [Command.standby()]
    assert "no battery data" in events[1].reason  # type: ignore[attr-defined]
    events = driver.battery(50.0)
    assert driver.commands(events) == [Command.charge(500)]


# -- safety with hysteresis --------------------------------------------------------------------------------


def test_min_soc_while_discharging_needs_margin_to_resume() -> None:
    driver = into(State.DISCHARGING)
    assert driver.changes(driver.battery(10.0)) == [("Discharging", "SafetyLimit", "soc_low")]
    assert driver.commands() == [Command.standby()]
    assert driver.changes(driver.battery(11.5)) == []
    assert driver.core.state is State.SAFETY_LIMIT
    assert driver.changes(driver.battery(12.0)) == [("SafetyLimit", "Discharging", "cleared")]
    assert driver.commands() == [Command.discharge(300)]


def test_max_soc_while_charging_and_in_netzero_plus() -> None:
    driver = into(State.CHARGING)
    driver.battery(95.0)
    assert driver.core.state is State.SAFETY_LIMIT
    assert "charging is blocked" in driver.core.state_reason
    driver.battery(93.5)
    assert driver.core.state is State.SAFETY_LIMIT
    driver.battery(93.0)
    assert driver.core.state is State.CHARGING
    plus = into(State.NETZERO_PLUS)
    plus.battery(96.0)
    assert plus.core.state is State.SAFETY_LIMIT


def test_min_soc_in_netzero_and_a_charge_slot_is_not_blocked_by_low_soc() -> None:
    driver = into(State.NETZERO)
    driver.battery(5.0)
    assert driver.core.state is State.SAFETY_LIMIT
    events = driver.schedule(MODE_OF[State.CHARGING])
    assert driver.changes(events) == [("SafetyLimit", "Charging", "cleared")]


def test_soc_limit_flags_block_one_direction() -> None:
    driver = into(State.CHARGING)
    driver.battery(50.0, soc_limit=1)
    assert driver.core.state is State.SAFETY_LIMIT
    driver.schedule(MODE_OF[State.DISCHARGING])
    assert driver.core.state is State.DISCHARGING
    driver.battery(50.0, soc_limit=2)
    assert driver.core.state is State.SAFETY_LIMIT
    driver.battery(50.0, soc_limit=0)
    assert driver.core.state is State.DISCHARGING


def test_over_temperature_from_any_state_with_cool_down_margin() -> None:
    driver = into(State.STANDBY)
    assert driver.changes(driver.battery(50.0, temperature_c=56.0)) == [
        ("Standby", "SafetyLimit", "temperature_high")
    ]
    driver.schedule(MODE_OF[State.CHARGING])
    driver.battery(50.0, temperature_c=51.0)
    assert driver.core.state is State.SAFETY_LIMIT
    driver.battery(50.0, temperature_c=50.0)
    assert driver.core.state is State.CHARGING  # returns to what the schedule asks now


def test_fault_reported_in_a_battery_reading() -> None:
    driver = into(State.DISCHARGING)
    driver.battery(50.0, fault="overcurrent")
    assert driver.core.state is State.SAFETY_LIMIT and "overcurrent" in driver.core.state_reason
    driver.battery(50.0)
    assert driver.core.state is State.DISCHARGING


def test_fault_wins_over_stale_data() -> None:
    driver = into(State.SAFETY_LIMIT)
    driver.tick(3600)
    assert driver.core.state is State.SAFETY_LIMIT


# -- staleness ---------------------------------------------------------------------------------------------


def test_stale_meter_in_netzero_goes_standby_and_back() -> None:
    driver = into(State.NETZERO)
    driver.advance(25)
    driver.battery(50.0)
    assert driver.changes(driver.tick(6)) == [("NetZero", "Standby", "meter_stale")]
    assert driver.commands() == [Command.standby()]
    assert "meter data stale" in driver.core.state_reason
    assert driver.changes(driver.meter(100.0)) == [("Standby", "NetZero", "follow_slot")]


def test_stale_meter_does_not_matter_while_charging() -> None:
    driver = into(State.CHARGING)
    driver.advance(25)
    driver.battery(50.0)
    driver.tick(10)
    assert driver.core.state is State.CHARGING


@pytest.mark.parametrize("state", [State.CHARGING, State.DISCHARGING, State.NETZERO, State.NETZERO_PLUS])
def test_stale_battery_goes_standby(state: State) -> None:
    driver = into(state)
    driver.advance(20)
    driver.meter(GRID_FOR.get(state, 0.0))
    events = driver.tick(11)
    assert driver.changes(events) == [(state.value, "Standby", "battery_stale")]
    assert driver.commands(events) == [Command.standby()]
    assert driver.changes(driver.battery(50.0)) == [("Standby", state.value, "follow_slot")]


def test_stale_judged_on_any_event_time() -> None:
    driver = into(State.NETZERO)
    driver.advance(31)
    events = driver.meter(300.0)  # fresh meter, but the battery reading is now 31 s old
    assert driver.changes(events) == [("NetZero", "Standby", "battery_stale")]
    assert driver.commands(events) == [Command.standby()]


# -- commands ----------------------------------------------------------------------------------------------


def test_charge_command_is_clamped_to_config_device_and_follows_limit_changes() -> None:
    driver = make_driver(max_charge_w=900)
    driver.battery(50.0)
    driver.schedule(schedule_of("charge", power_w=1200))
    assert driver.commands() == [Command.charge(900)]
    assert driver.commands(driver.battery(50.0, max_charge_w=600)) == [Command.charge(600)]
    assert driver.commands(driver.battery(50.0, max_charge_w=600)) == []  # never repeat a command
    assert driver.commands(driver.battery(50.0, max_charge_w=0)) == [Command.standby()]
    assert driver.core.state is State.CHARGING
    assert driver.commands(driver.battery(50.0)) == [Command.charge(900)]


def test_netzero_discharges_only_and_respects_slot_max_and_device_limit() -> None:
    driver = make_driver()
    driver.battery(50.0, max_discharge_w=700)
    driver.meter(900.0)
    driver.schedule(schedule_of("netzero", max_w=500))
    assert driver.commands() == [Command.discharge(500)]
    issued = [e for e in driver.last if isinstance(e, CommandIssued)][0]
    assert issued.inputs["max_discharge_w"] == 500 and issued.inputs["slot_max_w"] == 500
    driver.advance(1)
    assert driver.commands(driver.meter(-2000.0)) == [Command.standby()]  # wants to charge: not in NetZero


def test_netzero_plus_charges_only() -> None:
    driver = make_driver(max_charge_w=800)
    driver.battery(50.0)
    driver.meter(-1500.0)
    driver.schedule(schedule_of("netzero_plus"))
    assert driver.commands() == [Command.charge(800)]
    driver.advance(1)
    assert driver.commands(driver.meter(2000.0)) == [Command.standby()]


def test_netzero_limit_drop_refits_the_running_set_point_at_once() -> None:
    driver = make_driver()
    driver.battery(50.0)
    driver.meter(600.0)
    driver.schedule(schedule_of("netzero"))
    assert driver.commands() == [Command.discharge(600)]
    events = driver.battery(50.0, max_discharge_w=200)
    assert driver.commands(events) == [Command.discharge(200)]
    assert "limits changed" in events[-1].reason  # type: ignore[attr-defined]


class _RogueRegulator(ProportionalRegulator):
    """Once ``rogue``, proposes whatever it computes, unfitted (breaks the Regulator contract)."""

    rogue = False

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        if not self.rogue or self.grid_w is None:
            return super().decide(now, mode, limits, target_offset_w)
        return RegulatorDecision(battery_w=self.grid_w + 1000.0, write=True)


def test_a_proposal_outside_the_limits_is_refused_with_standby_never_clamped() -> None:
    regulator = _RogueRegulator()
    driver = make_driver(regulator)
    driver.battery(50.0)
    driver.meter(600.0)
    assert driver.commands(driver.schedule(schedule_of("netzero"))) == [Command.discharge(600)]
    regulator.rogue = True
    driver.advance(1)
    events = driver.meter(500.0)
    issued = [e for e in events if isinstance(e, CommandIssued)]
    assert [e.command for e in issued] == [Command.standby()]  # not a discharge of 1500 W, not 800 W
    assert "+1500 W, outside NetZero limits (800 W out" in issued[0].reason
    driver.advance(1)
    assert driver.commands(driver.meter(400.0)) == []  # still refused; standby already in force


def test_start_threshold_and_target_offset() -> None:
    driver = make_driver(start_threshold_w=50.0)
    driver.battery(50.0)
    driver.meter(30.0)
    events = driver.schedule(schedule_of("netzero", target_offset_w=-100.0))
    assert driver.commands(events) == [Command.discharge(130)]
    driver.advance(1)
    # one rule for the start threshold (fit_setpoint): 30 W is nearer 50 W than 0, 15 W is nearer 0
    assert driver.commands(driver.meter(-200.0)) == [Command.discharge(50)]
    driver.advance(1)
    assert driver.commands(driver.meter(-135.0)) == [Command.standby()]  # proposes 50 - 35 = 15 W


def test_regulator_without_data_gives_standby_on_entry() -> None:
    regulator = ProportionalRegulator()
    driver = make_driver(regulator)
    driver.battery(50.0)
    driver.schedule(schedule_of("netzero"))
    assert driver.core.state is State.STANDBY  # no meter data: never a guess
    driver.meter(0.0)
    assert driver.core.state is State.NETZERO
    assert driver.commands() == []  # standby already; 0 W proposed
    assert regulator.resets == 1


def test_regulator_sees_inputs_and_commands_and_decision_events_come_first() -> None:
    regulator = ProportionalRegulator(emit_lag=True)
    driver = make_driver(regulator)
    driver.battery(50.0)
    driver.meter(400.0)
    events = driver.schedule(schedule_of("netzero"))
    kinds = [e.kind for e in events]
    assert kinds == ["slot_changed", "state_changed", "lag_estimated", "command_issued"]
    issued = events[-1]
    assert isinstance(issued, CommandIssued)
    assert issued.inputs["reg_grid_w"] == 400.0 and issued.inputs["soc_pct"] == 50.0
    assert issued.inputs["slot_mode"] == "netzero" and issued.inputs["meter_w"] == 400.0
    assert issued.state == "NetZero" and issued.command == Command.discharge(400)
    assert regulator.observed[-1] == "command_issued"
    assert "battery_reading" in regulator.observed and "meter_reading" in regulator.observed
    assert "lag_estimated" not in regulator.observed


def test_regulator_writes_only_when_it_says_so() -> None:
    driver = make_driver(ProportionalRegulator(deadband_w=50.0))
    driver.battery(50.0)
    driver.meter(400.0)
    driver.schedule(schedule_of("netzero"))
    driver.advance(1)
    assert driver.commands(driver.meter(30.0)) == []  # inside the regulator's dead-band
    assert driver.commands(driver.tick()) == []
    driver.advance(1)
    assert driver.commands(driver.meter(80.0)) == [Command.discharge(480)]


def test_entering_a_regulated_state_resets_the_regulator() -> None:
    regulator = ProportionalRegulator()
    driver = make_driver(regulator)
    driver.battery(50.0)
    driver.meter(100.0)
    driver.schedule(schedule_of("netzero"))
    driver.schedule(schedule_of("netzero_plus"))
    driver.schedule(schedule_of("charge", power_w=100))
    assert regulator.resets == 2
    assert {s for s in REGULATED} == {State.NETZERO, State.NETZERO_PLUS}


def test_own_events_fed_back_are_ignored() -> None:
    driver = into(State.CHARGING)
    own = [e for e in driver.log if isinstance(e, (StateChanged, CommandIssued, SlotChanged))]
    assert own
    for event in own:
        driver.core.handle(event)
    driver.core.handle(LagEstimated(at=driver.now, lag_s=3.0, confidence=1.0))
    assert driver.core.take_pending() == [] and driver.core.state is State.CHARGING


def test_invalid_logged_schedule_is_ignored() -> None:
    driver = into(State.CHARGING)
    events = driver.schedule({"default": {"mode": "charge"}})
    assert events == [] and driver.core.state is State.CHARGING


def test_state_changed_reason_is_readable() -> None:
    driver = into(State.DISCHARGING)
    events = driver.battery(8.0)
    change = next(e for e in events if isinstance(e, StateChanged))
    assert change.reason.startswith("slot default asks discharge but discharging is blocked: SoC 8.0 %")
    assert "resume at 12.0 %" in change.reason
