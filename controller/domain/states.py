"""The controller's states and its transition table.

How to read the table: on every trigger the core first works out the state the inputs ask for (safety,
staleness, then the schedule slot; see :meth:`controller.domain.machine.ControllerCore.desired_state`) and
passes it as ``desired`` in the trigger's data. The rows below are tried in order and the first whose guard
holds fires; each guard is the pure predicate ``desired is <dest>``. When the desired state is the current
one no row applies and the state stays (the core may still update the command inside the state).

Every trigger can reach every state, because staleness is judged by time on every event and a trigger
carries the newest inputs; what makes each move happen is the guard, and the reason recorded with it.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

__all__ = ["REGULATED", "ROUTES", "TRANSITIONS", "TRIGGERS", "State"]


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

#: Triggers, one per kind of input: slot boundaries, readings, the periodic tick (``clock_tick``, as the
#: model already has the public ``tick(now)``), sources going stale / recovering, and device faults.
TRIGGERS: Final = (
    "slot_started",
    "slot_ended",
    "meter_reading",
    "battery_reading",
    "clock_tick",
    "source_stale",
    "source_recovered",
    "device_fault",
)

_ALL: Final = tuple(State)

#: The routes, in priority order: (destination, sources, guard, when it fires).
ROUTES: Final[tuple[tuple[State, tuple[State, ...], str, str], ...]] = (
    # dest                 sources                                       guard                  fires when
    (State.SAFETY_LIMIT, tuple(s for s in _ALL if s is not State.SAFETY_LIMIT), "wants_safety_limit",
     "device fault, over-temperature, or SoC / socLimit blocks the direction the slot asks"),
    (State.STANDBY, tuple(s for s in _ALL if s is not State.STANDBY), "wants_standby",
     "slot asks standby, battery data missing/stale, or meter data missing/stale in a NetZero mode"),
    (State.CHARGING, tuple(s for s in _ALL if s is not State.CHARGING), "wants_charging",
     "slot asks charge and nothing blocks it"),
    (State.DISCHARGING, tuple(s for s in _ALL if s is not State.DISCHARGING), "wants_discharging",
     "slot asks discharge and nothing blocks it"),
    (State.NETZERO, tuple(s for s in _ALL if s is not State.NETZERO), "wants_netzero",
     "slot asks netzero, meter and battery data fresh, SoC above min (+ margin)"),
    (State.NETZERO_PLUS, tuple(s for s in _ALL if s is not State.NETZERO_PLUS), "wants_netzero_plus",
     "slot asks netzero_plus, meter and battery data fresh, SoC below max (- margin)"),
)  # fmt: skip

#: The table handed to ``transitions.Machine``: every trigger × every route, in route order.
TRANSITIONS: Final[list[dict[str, Any]]] = [
    {
        "trigger": trigger,
        "source": list(sources),
        "dest": dest,
        "conditions": guard,
        "after": "record_state_changed",
    }
    for trigger in TRIGGERS
    for dest, sources, guard, _why in ROUTES
]
