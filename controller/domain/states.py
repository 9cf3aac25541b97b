"""The controller's states and its policy: one table of rules, read top to bottom.

On every input and every tick the core works out which :class:`Fact` s hold (a fault is active, the battery
data is stale, the slot asks to charge, ...). :func:`decide` then walks :data:`POLICY` from the top: the
first rule whose ``sources`` hold the current state and whose ``conditions`` all hold is the one that
applies. If its ``dest`` is the current state the core stays (a fault that still holds keeps SafetyLimit);
otherwise the rule's ``trigger`` fires and the rule's ``reason`` (filled in with the live figures) is
recorded in ``StateChanged``. The last ten rows follow the slot, so some rule always applies.

So every way into SafetyLimit is one of the rows whose ``dest`` is SafetyLimit, and every way out of it is
a row whose ``sources`` include SafetyLimit and whose ``dest`` is another state.

:data:`TRANSITIONS` is the same table in the shape ``transitions.Machine`` takes (one row per rule, the
rule's facts as its conditions, stay rows left out).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from transitions import EventData

__all__ = ["POLICY", "REGULATED", "TRANSITIONS", "TRIGGERS", "Fact", "Rule", "State", "decide"]


class State(StrEnum):
    """The six controller states; values are the names written to the event log."""

    STANDBY = "Standby"
    CHARGING = "Charging"
    DISCHARGING = "Discharging"
    NETZERO = "NetZero"
    NETZERO_PLUS = "NetZeroPlus"
    SAFETY_LIMIT = "SafetyLimit"


#: States whose set-point comes from the regulator.
REGULATED: Final = frozenset({State.NETZERO, State.NETZERO_PLUS})


class Fact(StrEnum):
    """What the inputs say at one moment; the conditions of the policy's rules."""

    FAULT = "a device reports a fault"
    TEMPERATURE_HIGH = "over-temperature (latched until it cools by the hysteresis)"
    NO_BATTERY_DATA = "no battery reading yet"
    BATTERY_STALE = "battery data stale or flagged stale"
    SOC_HIGH = "SoC at max or socLimit full (latched until SoC falls by the hysteresis)"
    SOC_LOW = "SoC at min or socLimit empty (latched until SoC rises by the hysteresis)"
    NO_METER_DATA = "no meter reading yet"
    METER_STALE = "meter data stale or flagged stale"
    SLOT_CHARGES = "the slot charges (charge or netzero_plus)"
    SLOT_DISCHARGES = "the slot discharges (discharge or netzero)"
    SLOT_REGULATES = "the slot regulates on the meter (netzero or netzero_plus)"
    SLOT_STANDBY = "the slot asks standby"
    SLOT_CHARGE = "the slot asks charge"
    SLOT_DISCHARGE = "the slot asks discharge"
    SLOT_NETZERO = "the slot asks netzero"
    SLOT_NETZERO_PLUS = "the slot asks netzero_plus"


@dataclass(frozen=True, slots=True)
class Rule:
    """One row: from ``sources``, when all ``conditions`` hold, go to ``dest`` on ``trigger`` for ``reason``.

    ``reason`` is a ``str.format`` template over the fields the core supplies (see
    :meth:`controller.domain.machine.ControllerCore.reason_fields`).
    """

    trigger: str
    sources: tuple[State, ...]
    conditions: tuple[Fact, ...]
    dest: State
    reason: str


_ANY: Final = tuple(State)
_SAFE: Final = (State.SAFETY_LIMIT,)
_NOT_SAFE: Final = tuple(s for s in State if s is not State.SAFETY_LIMIT)
_SLOT: Final = "slot {slot} asks {mode}"
F = Fact
S = State

#: The policy, in priority order. Safety first, then data, then the slot.
POLICY: Final[tuple[Rule, ...]] = (
    # trigger            from  when                                  to              reason
    Rule("fault",            _ANY, (F.FAULT,),                          S.SAFETY_LIMIT,
         "device fault ({faults})"),
    Rule("temperature_high", _ANY, (F.TEMPERATURE_HIGH,),               S.SAFETY_LIMIT,
         "temperature {temperature_c} °C: above {max_temperature_c} °C, "
         "needs {resume_temperature_c} °C or less"),
    Rule("battery_missing",  _ANY, (F.NO_BATTERY_DATA,),                S.STANDBY, "no battery data yet"),
    Rule("battery_stale",    _ANY, (F.BATTERY_STALE,),                  S.STANDBY, "{battery_staleness}"),
    Rule("soc_high",         _ANY, (F.SLOT_CHARGES, F.SOC_HIGH),        S.SAFETY_LIMIT,
         _SLOT + " but charging is blocked: SoC {soc_pct} % (max {max_soc_pct} %, resume at "
         "{resume_max_soc_pct} %), socLimit {soc_limit}"),
    Rule("soc_low",          _ANY, (F.SLOT_DISCHARGES, F.SOC_LOW),      S.SAFETY_LIMIT,
         _SLOT + " but discharging is blocked: SoC {soc_pct} % (min {min_soc_pct} %, resume at "
         "{resume_min_soc_pct} %), socLimit {soc_limit}"),
    Rule("meter_missing",    _ANY, (F.SLOT_REGULATES, F.NO_METER_DATA), S.STANDBY,
         _SLOT + " but there is no meter data yet"),
    Rule("meter_stale",      _ANY, (F.SLOT_REGULATES, F.METER_STALE),   S.STANDBY, "{meter_staleness}"),
    # Nothing above holds: follow the slot. Out of SafetyLimit this is "cleared".
    Rule("cleared",     _SAFE,     (F.SLOT_STANDBY,),      S.STANDBY,      _SLOT),
    Rule("cleared",     _SAFE,     (F.SLOT_CHARGE,),       S.CHARGING,     _SLOT),
    Rule("cleared",     _SAFE,     (F.SLOT_DISCHARGE,),    S.DISCHARGING,  _SLOT),
    Rule("cleared",     _SAFE,     (F.SLOT_NETZERO,),      S.NETZERO,      _SLOT),
    Rule("cleared",     _SAFE,     (F.SLOT_NETZERO_PLUS,), S.NETZERO_PLUS, _SLOT),
    Rule("follow_slot", _NOT_SAFE, (F.SLOT_STANDBY,),      S.STANDBY,      _SLOT),
    Rule("follow_slot", _NOT_SAFE, (F.SLOT_CHARGE,),       S.CHARGING,     _SLOT),
    Rule("follow_slot", _NOT_SAFE, (F.SLOT_DISCHARGE,),    S.DISCHARGING,  _SLOT),
    Rule("follow_slot", _NOT_SAFE, (F.SLOT_NETZERO,),      S.NETZERO,      _SLOT),
    Rule("follow_slot", _NOT_SAFE, (F.SLOT_NETZERO_PLUS,), S.NETZERO_PLUS, _SLOT),
)  # fmt: skip

#: The triggers, in the order they first appear in the policy.
TRIGGERS: Final = tuple(dict.fromkeys(rule.trigger for rule in POLICY))


_RULES_FROM: Final = {state: tuple(rule for rule in POLICY if state in rule.sources) for state in State}


_DECIDED: dict[tuple[State, frozenset[Fact]], Rule] = {}  # a pure function of few inputs: remembered


def decide(state: State, facts: frozenset[Fact]) -> Rule:
    """The first rule of :data:`POLICY` that applies in ``state`` given ``facts``."""
    key = (state, facts)
    rule = _DECIDED.get(key)
    if rule is None:
        rule = _first_rule(state, facts)
        if len(_DECIDED) < 4096:  # 6 states x the fact combinations that occur: bounded all the same
            _DECIDED[key] = rule
    return rule


def _first_rule(state: State, facts: frozenset[Fact]) -> Rule:
    for rule in _RULES_FROM[state]:
        if facts.issuperset(rule.conditions):
            return rule
    raise ValueError(f"no rule applies in {state} to {sorted(facts)}: the slot facts are missing")


def _holds(fact: Fact) -> Callable[[EventData], bool]:
    def condition(event: EventData) -> bool:
        return fact in event.kwargs["facts"]

    condition.__name__ = f"holds_{fact.name.lower()}"
    return condition


#: The policy as ``transitions.Machine`` rows; a rule's stay (``dest`` among its ``sources``) is no row.
TRANSITIONS: Final[list[dict[str, Any]]] = [
    {
        "trigger": rule.trigger,
        "source": [s for s in rule.sources if s is not rule.dest],
        "dest": rule.dest,
        "conditions": [_holds(fact) for fact in rule.conditions],
        "after": "record_state_changed",
    }
    for rule in POLICY
]
