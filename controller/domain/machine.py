"""The controller core: a ``transitions`` state machine over :class:`ControllerCore`, safety and commands.

Use (the daemon, the simulator and replay all drive the core this one way)::

    core = ControllerCore(settings.limits.domain(), regulator, target_offset_w=...)
    decided = core.step(now, inputs)    # a tick's inputs (readings, ScheduleLoaded, SourceStale, ...) in,
    log.append_many([*inputs, *decided])   # what the core recorded out, in causal order: persist first,
    # ... then act on the CommandIssued events among them.

``step`` is ``handle`` for each input, then ``tick(now)``, then ``take_pending``.

The core is pure: no I/O, no clock (time comes from event ``at`` and the ``now`` of a tick), and its
callbacks only record events. Outputs are ``SlotChanged`` (the slot in force changed), ``StateChanged``
(from, to, trigger, reason), the regulator's own events, and ``CommandIssued`` (the command, the state,
a reason and every input that decided it). A command equal to the last one is never emitted again.
``handle`` ignores the core's own output kinds (so feeding a whole log through it is harmless); use
:meth:`ControllerCore.restore` to rebuild from a log without re-triggering anything.

Decisions: the policy table :data:`controller.domain.states.POLICY`, read top to bottom against the
:meth:`ControllerCore.facts` at that moment (in priority order: a device fault or over-temperature →
SafetyLimit; battery data missing or stale → Standby; the slot's direction blocked by SoC / ``socLimit``
(with hysteresis) → SafetyLimit; netzero / netzero_plus without fresh meter data → Standby; else the slot's
mode). The first rule that applies names the trigger, the target state and the reason. Staleness is
judged on every event from its ``at`` (and on every tick from ``now``); ``SourceStale`` /
``SourceRecovered`` set and clear an explicit flag, and a new reading clears it too.

Commands: Standby and SafetyLimit → standby; Charging / Discharging → the slot's power clamped to
:meth:`ControllerCore.effective_limits` (re-issued whenever that changes); NetZero / NetZeroPlus → the
regulator's set-point, which the regulator fits to the direction, the limits and the start threshold
(:func:`~controller.domain.regulation.fit_setpoint`, the one place); one outside the limits is refused with
a standby. The regulator
sees every input through ``observe`` (and every ``CommandIssued``), is ``reset`` on entering a regulated
state (after observing the triggering input), and is asked to ``decide`` on entry, on each meter reading and
each tick; its ``events`` are recorded whenever it returns a decision, its set-point is used when ``write``
is true (always on entry), and when a running set-point no longer fits the limits its proposal under the
new limits is issued at once.
A ``ScheduleLoaded`` acts only through the slot: if the slot in force changes, ``SlotChanged`` is recorded
and the policy is read again (its cause ``slot_started``, or ``slot_ended`` for the default).

The table lives in :mod:`controller.domain.states`. ``transitions`` binds the trigger methods (and
``may_<trigger>``) onto the model; the model defines none of them itself (so no ``model_override`` is
needed). What caused a step (an input kind, ``clock_tick``, ``slot_started`` / ``slot_ended``) is recorded
as ``trigger`` in each command's audit inputs; the policy's trigger is the one in ``StateChanged``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from transitions import EventData, Machine

from controller.domain.commands import Command, CommandKind
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    DeadTimeEstimated,
    DeviceFault,
    EventBase,
    LagEstimated,
    MeterReading,
    RegulationFallback,
    ScheduleLoaded,
    SlotChanged,
    SourceRecovered,
    SourceStale,
    StateChanged,
)
from controller.domain.inputs import Inputs
from controller.domain.params import Limits
from controller.domain.projection import Projection, project
from controller.domain.regulation import PowerLimits, RegulationMode, Regulator, RegulatorDecision, Scalar
from controller.domain.schedule import ActiveSlot, Mode
from controller.domain.states import REGULATED, TRANSITIONS, Fact, Rule, State, decide

__all__ = ["NO_SCHEDULE", "OWN_EVENT_KINDS", "ControllerCore"]

LOGGER = logging.getLogger(__name__)

#: The slot in force before any schedule was loaded.
NO_SCHEDULE: Final = ActiveSlot(
    key="none",
    slot_id=None,
    mode=Mode.STANDBY,
    power_w=None,
    max_w=None,
    target_offset_w=None,
    start=None,
    end=None,
)

#: Event kinds the core (or its regulator) produces; ``handle`` ignores them.
OWN_EVENT_KINDS: Final[tuple[type[EventBase], ...]] = (
    StateChanged,
    CommandIssued,
    SlotChanged,
    LagEstimated,
    DeadTimeEstimated,
    RegulationFallback,
)

_TRIGGER_FOR: Final[dict[type[EventBase], str]] = {
    MeterReading: "meter_reading",
    BatteryReading: "battery_reading",
    SourceStale: "source_stale",
    SourceRecovered: "source_recovered",
    DeviceFault: "device_fault",
}
_SLOT_FACTS: Final[dict[Mode, tuple[Fact, ...]]] = {
    Mode.STANDBY: (Fact.SLOT_STANDBY,),
    Mode.CHARGE: (Fact.SLOT_CHARGE, Fact.SLOT_CHARGES),
    Mode.DISCHARGE: (Fact.SLOT_DISCHARGE, Fact.SLOT_DISCHARGES),
    Mode.NETZERO: (Fact.SLOT_NETZERO, Fact.SLOT_DISCHARGES, Fact.SLOT_REGULATES),
    Mode.NETZERO_PLUS: (Fact.SLOT_NETZERO_PLUS, Fact.SLOT_CHARGES, Fact.SLOT_REGULATES),
}
_REGULATION_MODE: Final = {
    State.NETZERO: RegulationMode.NETZERO,
    State.NETZERO_PLUS: RegulationMode.NETZERO_PLUS,
}
_DECIDE_TRIGGERS: Final = frozenset({"meter_reading", "clock_tick"})
_STANDBY: Final = Command.standby()


class ControllerCore:
    """The model object of the state machine: inputs in, recorded events (and commands) out."""

    state: State  # set by transitions

    def __init__(
        self,
        limits: Limits,
        regulator: Regulator,
        *,
        target_offset_w: float = 0.0,
    ) -> None:
        """``limits``: config limits; ``target_offset_w``: NetZero grid target when the slot gives none."""
        self.limits = limits
        self.regulator = regulator
        self.target_offset_w = target_offset_w
        self.inputs = Inputs(limits)
        self.last_command: Command | None = None
        self.slot: ActiveSlot = NO_SCHEDULE
        self.state_reason = "initial state"
        self._pending: list[EventBase] = []
        self._slot_due: datetime | None = None
        self._slot_dirty = True
        self.machine = Machine(
            model=self,
            states=State,
            transitions=TRANSITIONS,
            initial=State.STANDBY,
            auto_transitions=False,
            send_event=True,
        )

    # -- public API ----------------------------------------------------------------------------------

    def step(self, now: datetime, inputs: Iterable[EventBase] = ()) -> list[EventBase]:
        """One tick: handle ``inputs`` in order, tick at ``now``; return what the core recorded."""
        for event in inputs:
            self.handle(event)
        self.tick(now)
        return self.take_pending()

    def handle(self, event: EventBase) -> None:
        """Feed one input event. Its time ``at`` is "now". The event itself is *not* added to pending."""
        kind = type(event)
        if kind in OWN_EVENT_KINDS:
            return
        applied = self.inputs.apply(event)
        self.regulator.observe(event)
        if kind is ScheduleLoaded:
            if applied:
                self._slot_dirty = True
                self._evaluate_slot(event.at)
            return
        trigger = _TRIGGER_FOR.get(kind)
        if trigger is not None:
            self._step(trigger, event.at, event)

    def tick(self, now: datetime) -> None:
        """The periodic tick: slot boundaries, staleness, and a regulator decision in NetZero modes."""
        if self._slot_dirty or (self._slot_due is not None and now >= self._slot_due):
            self._evaluate_slot(now)
        self._step("clock_tick", now, None)

    def take_pending(self) -> list[EventBase]:
        """The events recorded since the last call, oldest first (and forget them)."""
        pending, self._pending = self._pending, []
        return pending

    def effective_limits(self) -> PowerLimits:
        """min(config, the device's live limits, the slot's ``max_w``); 0 means that direction is blocked."""
        charge = self.limits.max_charge_w
        discharge = self.limits.max_discharge_w
        battery = self.inputs.battery
        if battery is not None:
            if battery.max_charge_w is not None:
                charge = min(charge, battery.max_charge_w)
            if battery.max_discharge_w is not None:
                discharge = min(discharge, battery.max_discharge_w)
        cap = self.slot.max_w
        if cap is not None:
            charge = min(charge, cap)
            discharge = min(discharge, cap)
        return PowerLimits(max_discharge_w=discharge, max_charge_w=charge)

    def facts(self, now: datetime) -> frozenset[Fact]:
        """What the inputs say at ``now``: the conditions the policy's rules are read against."""
        inputs = self.inputs
        found: list[Fact] = list(_SLOT_FACTS[self.slot.mode])
        if inputs.faults:
            found.append(Fact.FAULT)
        if inputs.temperature_latched:
            found.append(Fact.TEMPERATURE_HIGH)
        if inputs.battery is None:
            found.append(Fact.NO_BATTERY_DATA)
        elif not inputs.battery_fresh(now):
            found.append(Fact.BATTERY_STALE)
        if inputs.soc_high_latched:
            found.append(Fact.SOC_HIGH)
        if inputs.soc_low_latched:
            found.append(Fact.SOC_LOW)
        if inputs.meter is None:
            found.append(Fact.NO_METER_DATA)
        elif not inputs.meter_fresh(now):
            found.append(Fact.METER_STALE)
        return frozenset(found)

    def rule_now(self, now: datetime) -> Rule:
        """The policy rule that applies in the current state at ``now``."""
        return decide(self.state, self.facts(now))

    def desired_state(self, now: datetime) -> tuple[State, str]:
        """The state the inputs ask for at ``now``, with a human-readable reason."""
        rule = self.rule_now(now)
        return rule.dest, self.explain(rule, now)

    def explain(self, rule: Rule, now: datetime) -> str:
        """``rule``'s reason filled in with the figures at ``now``."""
        return rule.reason.format_map(self.reason_fields(now))

    def reason_fields(self, now: datetime) -> dict[str, object]:
        """The figures a rule's reason may name."""
        inputs = self.inputs
        limits = self.limits
        battery = inputs.battery
        return {
            "faults": "; ".join(f"{source}: {detail}" for source, detail in sorted(inputs.faults.items())),
            "temperature_c": battery.temperature_c if battery is not None else None,
            "max_temperature_c": limits.max_temperature_c,
            "resume_temperature_c": limits.max_temperature_c - limits.temperature_hysteresis_c,
            "battery_staleness": _stale_reason("battery", inputs.battery_age_s(now), limits.battery_stale_s),
            "meter_staleness": _stale_reason("meter", inputs.meter_age_s(now), limits.meter_stale_s),
            "slot": self.slot.label,
            "mode": self.slot.mode,
            "soc_pct": battery.soc_pct if battery is not None else None,
            "soc_limit": battery.soc_limit if battery is not None else None,
            "max_soc_pct": limits.max_soc_pct,
            "resume_max_soc_pct": limits.max_soc_pct - limits.soc_hysteresis_pct,
            "min_soc_pct": limits.min_soc_pct,
            "resume_min_soc_pct": limits.min_soc_pct + limits.soc_hysteresis_pct,
        }

    def restore(self, events: Iterable[EventBase]) -> Projection:
        """Rebuild from a log (oldest first) without re-triggering: fold, warm the regulator, set the state.

        The regulator is warmed up in log order: ``observe`` for each input and ``CommandIssued``, ``reset``
        at each ``StateChanged`` into a regulated state (memory it changes inside ``decide`` is not
        replayed). The slot is re-evaluated on the next tick, silently if unchanged. Nothing is added to
        pending and nothing is sent: act on ``last_command`` yourself if the device must be re-synchronised.
        """
        events = list(events)
        projection = project(events, self.limits)
        for event in events:
            if isinstance(event, CommandIssued):
                self.regulator.observe(event)
            elif isinstance(event, StateChanged):
                if State(event.to_state) in REGULATED:
                    self.regulator.reset()
            elif not isinstance(event, OWN_EVENT_KINDS):
                self.regulator.observe(event)
        self.inputs = projection.inputs
        self.last_command = projection.last_command
        self.slot = projection.slot or NO_SCHEDULE
        self.state_reason = projection.state_reason
        self._slot_dirty = True
        self._slot_due = None
        self.machine.set_state(projection.state, model=self)
        return projection

    # -- guards and callbacks (pure: they only read event data and record) ----------------------------

    def record_state_changed(self, event: EventData) -> None:
        kwargs = event.kwargs
        reason = self.explain(kwargs["rule"], kwargs["now"])
        self.state_reason = reason
        self._pending.append(
            StateChanged(
                at=kwargs["now"],
                from_state=kwargs["from_state"].value,
                to_state=self.state.value,
                trigger=event.event.name if event.event is not None else "",
                reason=reason,
            )
        )

    # -- internals -----------------------------------------------------------------------------------

    def _step(self, cause: str, now: datetime, event: EventBase | None) -> None:
        """Apply the policy after ``cause`` (an input kind, ``clock_tick`` or a slot change)."""
        facts = self.facts(now)
        rule = decide(self.state, facts)
        entered = False
        if rule.dest is not self.state:
            fired = self.machine.events[rule.trigger].trigger(
                self, now=now, facts=facts, rule=rule, from_state=self.state, source_event=event
            )
            if not fired:  # pragma: no cover - TRANSITIONS holds a row for every rule that moves
                raise RuntimeError(f"no transition {self.state} -> {rule.dest} on {rule.trigger}")
            entered = True
            if rule.dest in REGULATED:
                self.regulator.reset()
        self._update_command(cause, now, entered, rule)

    def _evaluate_slot(self, now: datetime) -> None:
        self._slot_dirty = False
        schedule = self.inputs.schedule
        if schedule is None:
            self._slot_due = None
            return
        slot = schedule.slot_at(now)
        self._slot_due = schedule.next_change_after(now)
        if slot.same_action(self.slot):
            self.slot = slot
            return
        self.slot = slot
        self._pending.append(
            SlotChanged(
                at=now,
                mode=slot.mode.value,
                power_w=slot.power_w,
                max_w=slot.max_w,
                target_offset_w=slot.target_offset_w,
                slot_id=slot.label,
                ends_at=self._slot_due,
            )
        )
        self._step("slot_ended" if slot.key == "default" else "slot_started", now, None)

    def _update_command(self, trigger: str, now: datetime, entered: bool, rule: Rule) -> None:
        state = self.state
        last = self.last_command
        if state is State.STANDBY or state is State.SAFETY_LIMIT:
            if last != _STANDBY:
                self._issue(_STANDBY, now, trigger, f"{state}: {self.explain(rule, now)}")
            return
        limits = self.effective_limits()
        if state is State.CHARGING or state is State.DISCHARGING:
            charging = state is State.CHARGING
            cap = limits.max_charge_w if charging else limits.max_discharge_w
            power = min(self.slot.power_w or 0, cap)
            kind = CommandKind.CHARGE if charging else CommandKind.DISCHARGE
            if power <= 0:
                command = _STANDBY
            elif last is not None and last.kind is kind and last.power_w == power:
                return
            else:
                command = Command(kind=kind, power_w=power)
            if command != last:
                verb = "charge" if charging else "discharge"
                self._issue(
                    command,
                    now,
                    trigger,
                    f"slot {self.slot.label}: {verb} {self.slot.power_w} W (limit {cap} W)",
                )
            return
        self._regulate(state, trigger, now, entered, limits)

    def _regulate(
        self, state: State, trigger: str, now: datetime, entered: bool, limits: PowerLimits
    ) -> None:
        mode = _REGULATION_MODE[state]
        offset = self.slot.target_offset_w
        target_offset_w = self.target_offset_w if offset is None else offset
        decision: RegulatorDecision | None = None
        if entered or trigger in _DECIDE_TRIGGERS:
            decision = self.regulator.decide(now, mode, limits, target_offset_w)
            if decision is not None:
                self._pending.extend(decision.events)
                if decision.write or entered:
                    self._issue_proposal(decision, state, now, trigger, limits, f"{mode} regulator")
                    return
            elif entered:
                if self.last_command != _STANDBY:
                    self._issue(_STANDBY, now, trigger, f"{mode}: regulator has no data yet")
                return
        last = self.last_command
        if last is None or self._within(last, state, limits):
            return
        # The limits changed under a running set-point: the regulator's fitted proposal now, budget or not.
        if decision is None:
            decision = self.regulator.decide(now, mode, limits, target_offset_w)
            if decision is not None:
                self._pending.extend(decision.events)
        if decision is None:
            self._issue(_STANDBY, now, trigger, f"{mode}: limits changed and the regulator has no data")
        else:
            self._issue_proposal(decision, state, now, trigger, limits, f"{mode}: limits changed, regulator")

    def _issue_proposal(
        self,
        decision: RegulatorDecision,
        state: State,
        now: datetime,
        trigger: str,
        limits: PowerLimits,
        who: str,
    ) -> None:
        """Issue a regulator's (already fitted) set-point; one outside the limits is refused: standby."""
        command = Command.from_battery_w(decision.battery_w)
        if not self._within(command, state, limits):
            reason = (
                f"{who} proposed {decision.battery_w:+.0f} W, outside {state} limits "
                f"({limits.max_discharge_w} W out / {limits.max_charge_w} W in): standby"
            )
            if self.last_command != _STANDBY:
                self._issue(_STANDBY, now, trigger, reason, decision.inputs)
            return
        if command != self.last_command:
            self._issue(command, now, trigger, f"{who}: {decision.battery_w:+.0f} W", decision.inputs)

    @staticmethod
    def _within(command: Command, state: State, limits: PowerLimits) -> bool:
        if command.kind is CommandKind.STANDBY:
            return True
        if state is State.NETZERO:
            return command.kind is CommandKind.DISCHARGE and command.power_w <= limits.max_discharge_w
        return command.kind is CommandKind.CHARGE and command.power_w <= limits.max_charge_w

    def _issue(
        self,
        command: Command,
        now: datetime,
        trigger: str,
        reason: str,
        extra: Mapping[str, Scalar] | None = None,
    ) -> None:
        inputs = self.audit_inputs(now, trigger)
        if extra:
            inputs.update(extra)
        issued = CommandIssued(at=now, command=command, state=self.state.value, reason=reason, inputs=inputs)
        self._pending.append(issued)
        self.last_command = command
        self.regulator.observe(issued)

    def audit_inputs(self, now: datetime, trigger: str) -> dict[str, Scalar]:
        """The inputs a command is decided on, as flat scalars for the audit trail."""
        inputs = self.inputs
        battery = inputs.battery
        meter = inputs.meter
        limits = self.effective_limits()
        slot = self.slot
        meter_age = inputs.meter_age_s(now)
        battery_age = inputs.battery_age_s(now)
        return {
            "trigger": trigger,
            "soc_pct": battery.soc_pct if battery is not None else None,
            "soc_limit": battery.soc_limit if battery is not None else None,
            "battery_w": battery.battery_w if battery is not None else None,
            "temperature_c": battery.temperature_c if battery is not None else None,
            "battery_age_s": round(battery_age, 3) if battery_age is not None else None,
            "meter_w": meter.grid_w if meter is not None else None,
            "meter_age_s": round(meter_age, 3) if meter_age is not None else None,
            "slot": slot.label,
            "slot_mode": slot.mode.value,
            "slot_power_w": slot.power_w,
            "slot_max_w": slot.max_w,
            "max_charge_w": limits.max_charge_w,
            "max_discharge_w": limits.max_discharge_w,
            "min_soc_pct": self.limits.min_soc_pct,
            "max_soc_pct": self.limits.max_soc_pct,
        }


def _stale_reason(source: str, age_s: float | None, limit_s: float) -> str:
    if age_s is None:
        return f"{source} data missing"
    return f"{source} data stale (age {age_s:.1f} s, limit {limit_s:g} s)"
