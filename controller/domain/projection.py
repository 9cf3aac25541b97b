"""Rebuild the controller's state from its event log: a pure fold, no triggers, no side effects.

``project(events, limits)`` folds the log in order (``evolve`` per event) into a :class:`Projection`: the
state of the last ``StateChanged``, the last command, the slot of the last ``SlotChanged`` and the
:class:`~controller.domain.inputs.Inputs` (readings, flags, faults, latches, schedule) exactly as the live
core folded them. :meth:`controller.domain.machine.ControllerCore.restore` then installs the projection and
calls ``machine.set_state`` — nothing is re-triggered, so nothing is emitted or sent again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from controller.domain.commands import Command
from controller.domain.events import CommandIssued, EventBase, SlotChanged, StateChanged
from controller.domain.inputs import Inputs
from controller.domain.params import Limits
from controller.domain.schedule import ActiveSlot, Mode
from controller.domain.states import State

__all__ = ["Projection", "evolve", "project", "slot_from_event"]


@dataclass
class Projection:
    """What the log says the controller was doing, and what it knew."""

    inputs: Inputs
    state: State = State.STANDBY
    state_reason: str = "initial state"
    last_command: Command | None = None
    slot: ActiveSlot | None = None
    events_folded: int = 0
    kinds_seen: dict[str, int] = field(default_factory=dict)


def slot_from_event(event: SlotChanged) -> ActiveSlot:
    """The slot a ``SlotChanged`` announced (its label stands in for the slot key)."""
    label = event.slot_id or "default"
    return ActiveSlot(
        key=label,
        slot_id=None,
        mode=Mode(event.mode),
        power_w=event.power_w,
        max_w=event.max_w,
        target_offset_w=event.target_offset_w,
        start=None,
        end=event.ends_at,
    )


def evolve(projection: Projection, event: EventBase) -> Projection:
    """Fold one event into ``projection`` (in place) and return it."""
    if isinstance(event, StateChanged):
        projection.state = State(event.to_state)
        projection.state_reason = event.reason
    elif isinstance(event, CommandIssued):
        projection.last_command = event.command
    elif isinstance(event, SlotChanged):
        projection.slot = slot_from_event(event)
    else:
        projection.inputs.apply(event)
    projection.events_folded += 1
    projection.kinds_seen[event.kind] = projection.kinds_seen.get(event.kind, 0) + 1
    return projection


def project(events: Iterable[EventBase], limits: Limits) -> Projection:
    """Fold ``events`` (oldest first) from the initial state."""
    projection = Projection(inputs=Inputs(limits))
    for event in events:
        evolve(projection, event)
    return projection
