"""Property tests: random readings, slots, faults and time steps give no unsafe, unexplained command."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from controller.domain.commands import Command, CommandKind
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    DeviceFault,
    EventBase,
    MeterReading,
    SlotChanged,
    SourceRecovered,
    SourceStale,
    StateChanged,
)
from controller.domain.states import State
from tests.unit._core_support import Driver, ProportionalRegulator, make_driver

LIMITS: dict[str, Any] = {
    "min_soc_pct": 10.0,
    "max_soc_pct": 90.0,
    "soc_hysteresis_pct": 3.0,
    "max_temperature_c": 50.0,
    "temperature_hysteresis_c": 5.0,
    "max_charge_w": 1000,
    "max_discharge_w": 800,
    "meter_stale_s": 20.0,
    "battery_stale_s": 30.0,
}

seconds = st.sampled_from([0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 5.0, 10.0, 19.0, 21.0, 25.0, 31.0, 45.0])
powers = st.integers(min_value=1, max_value=2500)
actions = st.one_of(
    st.fixed_dictionaries({"mode": st.just("standby")}),
    st.fixed_dictionaries({"mode": st.sampled_from(["charge", "discharge"]), "power_w": powers}),
    st.fixed_dictionaries(
        {"mode": st.just("netzero")},
        optional={"max_w": st.integers(0, 2500), "target_offset_w": st.floats(-200, 200)},
    ),
    st.fixed_dictionaries({"mode": st.just("netzero_plus")}, optional={"max_w": st.integers(0, 2500)}),
)


@st.composite
def schedules(draw: st.DrawFn) -> dict[str, Any]:
    """A default action plus, sometimes, a short dated slot starting soon (so boundaries get crossed)."""
    schedule: dict[str, Any] = {"default": draw(actions)}
    if draw(st.booleans()):
        start = draw(st.integers(0, 120))
        length = draw(st.integers(1, 120))
        base = datetime(2026, 6, 1, 12, 0)  # local time of T0 (CEST)
        slot = dict(draw(actions))
        slot["start"] = (base + timedelta(seconds=start)).isoformat()
        slot["end"] = (base + timedelta(seconds=start + length)).isoformat()
        schedule["dated"] = [slot]
    return schedule


battery_readings = st.fixed_dictionaries(
    {
        "soc_pct": st.one_of(st.floats(5, 95), st.sampled_from([9.9, 10.0, 11.0, 13.0, 87.0, 90.0, 91.0])),
        "battery_w": st.floats(-1000, 1000),
        "max_charge_w": st.one_of(st.none(), st.none(), st.integers(0, 1500)),
        "max_discharge_w": st.one_of(st.none(), st.none(), st.integers(0, 1500)),
        "temperature_c": st.one_of(
            st.none(), st.floats(20, 45), st.sampled_from([44.0, 46.0, 49.9, 50.0, 51.0])
        ),
        "soc_limit": st.sampled_from([0] * 8 + [1, 2]),
        "fault": st.sampled_from([None] * 15 + ["E42"]),
    }
)
meter_ops = st.tuples(st.just("meter"), seconds, st.floats(-3000, 3000))
battery_ops = st.tuples(st.just("battery"), seconds, battery_readings)
tick_ops = st.tuples(st.just("tick"), seconds, st.none())
schedule_ops = st.tuples(st.just("schedule"), seconds, schedules())
operations = st.one_of(
    meter_ops,
    meter_ops,
    meter_ops,
    battery_ops,
    battery_ops,
    tick_ops,
    tick_ops,
    tick_ops,
    schedule_ops,
    st.tuples(st.just("fault"), seconds, st.sampled_from([True, False, False])),
    st.tuples(st.just("stale"), seconds, st.sampled_from(["meter", "battery", "server"])),
    st.tuples(st.just("recovered"), seconds, st.sampled_from(["meter", "battery"])),
)
scenarios = st.tuples(
    schedule_ops, battery_ops, meter_ops, st.lists(operations, min_size=5, max_size=80)
).map(lambda parts: [parts[0], parts[1], parts[2], *parts[3]])


def apply(driver: Driver, op: tuple[str, float, Any]) -> list[EventBase]:
    kind, dt, arg = op
    driver.advance(dt)
    if kind == "meter":
        return driver.meter(arg)
    if kind == "battery":
        return driver.battery(**arg)
    if kind == "tick":
        return driver.tick()
    if kind == "schedule":
        return driver.schedule(arg)
    if kind == "fault":
        return driver.fault(active=arg)
    if kind == "stale":
        return driver.stale(arg)
    return driver.recovered(arg)


@dataclass
class World:
    """What the test itself knows from the inputs it fed (independent of the core's bookkeeping)."""

    battery: BatteryReading | None = None
    meter: MeterReading | None = None
    meter_flag: bool = False
    battery_flag: bool = False
    faults: set[str] = field(default_factory=set)
    slot_max_w: int | None = None
    state: str = State.STANDBY.value
    last_command: Any = None
    slot_changed_in_batch: bool = False

    def see_input(self, event: EventBase) -> None:
        if isinstance(event, BatteryReading):
            self.battery, self.battery_flag = event, False
        elif isinstance(event, MeterReading):
            self.meter, self.meter_flag = event, False
        elif isinstance(event, SourceStale | SourceRecovered):
            stale = isinstance(event, SourceStale)
            if event.source == "meter":
                self.meter_flag = stale
            elif event.source == "battery":
                self.battery_flag = stale
        elif isinstance(event, DeviceFault):
            (self.faults.add if event.active else self.faults.discard)(event.source)

    def check_batch(self, batch: list[EventBase]) -> None:
        self.slot_changed_in_batch = False
        for event in batch:
            if isinstance(event, SlotChanged):
                self.slot_max_w = event.max_w
                self.slot_changed_in_batch = True
            elif isinstance(event, StateChanged):
                assert event.from_state == self.state
                if event.trigger.startswith("slot_"):
                    assert self.slot_changed_in_batch, "a slot transition without its SlotChanged before it"
                self.state = event.to_state
            elif isinstance(event, CommandIssued):
                self.check_command(event)

    def check_command(self, issued: CommandIssued) -> None:
        # Explained: its state is the current one, reached by a StateChanged recorded before it.
        assert issued.state == self.state
        assert issued.command != self.last_command, "a command equal to the last one"
        self.last_command = issued.command
        for key in ("trigger", "soc_pct", "meter_w", "slot_mode", "max_charge_w", "max_discharge_w"):
            assert key in issued.inputs
        self.assert_safe(issued.command, issued.state, issued.at)

    def assert_safe(self, command: Command | None, state: str, now: datetime) -> None:
        """A command (just issued, or still standing) is allowed by what the inputs say at ``now``."""
        if command is None or command.kind is CommandKind.STANDBY:
            return
        limits = LIMITS
        battery = self.battery
        # Deciding data present and fresh.
        assert battery is not None and not self.battery_flag
        assert (now - battery.at).total_seconds() <= limits["battery_stale_s"]
        if state in ("NetZero", "NetZeroPlus"):
            assert self.meter is not None and not self.meter_flag
            assert (now - self.meter.at).total_seconds() <= limits["meter_stale_s"]
        assert not self.faults and battery.fault is None
        assert battery.temperature_c is None or battery.temperature_c < limits["max_temperature_c"]
        caps = [self.slot_max_w] if self.slot_max_w is not None else []
        if command.kind is CommandKind.CHARGE:
            assert state in ("Charging", "NetZeroPlus")
            assert battery.soc_pct < limits["max_soc_pct"] and battery.soc_limit != 1
            device = battery.max_charge_w
            caps += [limits["max_charge_w"], device if device is not None else 10**9]
        else:
            assert state in ("Discharging", "NetZero")
            assert battery.soc_pct > limits["min_soc_pct"] and battery.soc_limit != 2
            device = battery.max_discharge_w
            caps += [limits["max_discharge_w"], device if device is not None else 10**9]
        assert 0 < command.power_w <= min(caps)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ops=scenarios,
    gain=st.sampled_from([0.5, 1.0, 1.5]),
    threshold=st.sampled_from([0.0, 50.0]),
)
def test_random_inputs_never_give_an_unsafe_or_unexplained_command(
    ops: list[tuple[str, float, Any]], gain: float, threshold: float
) -> None:
    driver = make_driver(
        ProportionalRegulator(gain=gain, deadband_w=10.0, start_threshold_w=threshold), **LIMITS
    )
    world = World()
    for op in ops:
        size_before = len(driver.log)
        batch = apply(driver, op)
        if op[0] != "tick":
            world.see_input(driver.log[size_before])
        world.check_batch(batch)
        if op[0] != "schedule":  # the state is always the one the inputs ask for: no table row is missing
            assert driver.core.desired_state(driver.now)[0] is driver.core.state
            # ... and the command still in force is allowed now (limits may have dropped since it was issued).
            world.assert_safe(world.last_command, world.state, driver.now)
