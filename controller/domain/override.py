"""A person's "do this now" override, turned into an ordinary dated slot of the schedule.

An override is a dated slot with the id :data:`OVERRIDE_ID` from the request's ``at`` to its ``until``. It
wins over everything it covers: dated slots that overlap it are cut around it (their parts before and after
are kept), and an earlier override is replaced. Mode ``auto`` removes the override, so the schedule rules
again. The result is a plain :class:`~controller.domain.schedule.Schedule`, so the core, the audit and
replay need nothing new. Pure: no I/O, no clock.
"""

from __future__ import annotations

from datetime import datetime

from controller.domain.events import OverrideRequested
from controller.domain.schedule import DatedSlot, Mode, Schedule

__all__ = ["OVERRIDE_ID", "apply_override", "override_window"]

OVERRIDE_ID = "override"


def override_window(schedule: Schedule) -> tuple[datetime, datetime] | None:
    """The UTC bounds of the override in ``schedule``, if it has one."""
    for slot, bounds in zip(schedule.dated, schedule.dated_utc, strict=True):
        if slot.id == OVERRIDE_ID:
            return bounds
    return None


def _override_slot(request: OverrideRequested) -> DatedSlot | None:
    if request.mode == "auto" or request.until is None or request.until <= request.at:
        return None
    mode = Mode(request.mode)
    power_w = request.power_w if mode in (Mode.CHARGE, Mode.DISCHARGE) else None
    if mode in (Mode.CHARGE, Mode.DISCHARGE) and not power_w:
        mode, power_w = Mode.STANDBY, None  # charging at 0 W is standing by
    return DatedSlot(id=OVERRIDE_ID, start=request.at, end=request.until, mode=mode, power_w=power_w)


def _cut_piece(slot: DatedSlot, part: int, start: datetime, end: datetime) -> DatedSlot:
    name = f"{slot.id}~{part}" if slot.id else None
    return slot.model_copy(update={"id": name[:64] if name else None, "start": start, "end": end})


def apply_override(schedule: Schedule | None, request: OverrideRequested) -> Schedule:
    """``schedule`` with ``request`` in force (or, for mode ``auto``, without any override)."""
    base = schedule if schedule is not None else Schedule()
    override = _override_slot(request)
    kept: list[DatedSlot] = []
    for slot, (start, end) in zip(base.dated, base.dated_utc, strict=True):
        if slot.id == OVERRIDE_ID:
            continue
        if override is None or end <= request.at or (request.until is not None and start >= request.until):
            kept.append(slot)
            continue
        assert request.until is not None  # an override exists only with an end
        if start < request.at:
            kept.append(_cut_piece(slot, 1, start, request.at))
        if end > request.until:
            kept.append(_cut_piece(slot, 2, request.until, end))
    if override is not None:
        kept.append(override)
    data = base.model_dump(mode="json", exclude_unset=True, exclude={"dated"})
    data["dated"] = [slot.model_dump(mode="json", exclude_none=True) for slot in kept]
    return Schedule.model_validate(data)
