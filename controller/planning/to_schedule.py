"""From planned flows to an ordinary schedule of our modes, each slot with a :class:`PlanNote` saying why.

Per step: grid charging → ``charge`` at the planned power; storing the house's surplus → ``netzero_plus``
(uncapped when the plan stores all of it, else capped); discharging into the grid → ``discharge``;
covering the house → ``netzero`` (uncapped when the plan covers the whole load, else capped); else
``standby``. Equal neighbours merge into one dated slot. A person's slots win: planned slots are cut
around every dated or recurring slot that a person wrote, and earlier planned slots are replaced.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from controller.domain.schedule import DatedSlot, Mode, PlanNote, Schedule, SlotAction
from controller.planning.model import PlanResult, PlanStep

__all__ = ["PLANNER_NAME", "merge_into", "planned_slots", "step_action"]

PLANNER_NAME = "zsm plan"
_MIN_W = 20.0
_FULL_COVER = 0.95


@dataclass(frozen=True, slots=True)
class _Piece:
    start: datetime
    end: datetime
    action: SlotAction
    steps: tuple[PlanStep, ...]


def step_action(step: PlanStep) -> SlotAction:
    """The mode (and power) that carries out one planned step."""
    surplus = max(-step.net_load_w, 0.0)
    demand = max(step.net_load_w, 0.0)
    if step.charge_w >= _MIN_W:
        power = max(1, round(step.charge_w))
        if step.charge_w > surplus + _MIN_W:
            return SlotAction(mode=Mode.CHARGE, power_w=power)
        if step.charge_w >= _FULL_COVER * surplus:
            return SlotAction(mode=Mode.NETZERO_PLUS)
        return SlotAction(mode=Mode.NETZERO_PLUS, max_w=power)
    if step.discharge_w >= _MIN_W:
        power = max(1, round(step.discharge_w))
        if step.discharge_w > demand + _MIN_W:
            return SlotAction(mode=Mode.DISCHARGE, power_w=power)
        if step.discharge_w >= _FULL_COVER * demand:
            return SlotAction(mode=Mode.NETZERO)
        return SlotAction(mode=Mode.NETZERO, max_w=power)
    return SlotAction(mode=Mode.STANDBY)


def _reason(action: SlotAction, steps: tuple[PlanStep, ...], price: float, median: float) -> str:
    where = f"price {price:.3f} EUR/kWh, horizon median {median:.3f}"
    match action.mode:
        case Mode.CHARGE:
            return f"buy cheap energy for later: {where}"
        case Mode.NETZERO_PLUS:
            return f"store the house's surplus instead of exporting it: {where}"
        case Mode.DISCHARGE:
            return f"sell stored energy at a high price: {where}"
        case Mode.NETZERO:
            cap = f" up to {action.max_w} W" if action.max_w else ""
            return f"cover the house from the battery{cap}: {where}"
        case _:
            if steps[-1].soc_end_pct <= steps[0].soc_start_pct and steps[0].soc_start_pct > 0:
                low = min(s.soc_end_pct for s in steps)
                if all(s.net_load_w <= 0 for s in steps):
                    return f"nothing to cover: {where}"
                return f"keep the energy for dearer hours (SoC {low:.0f}%): {where}"
            return f"idle: {where}"


def _note(action: SlotAction, steps: tuple[PlanStep, ...], median: float) -> PlanNote:
    hours = sum((s.end - s.start).total_seconds() for s in steps) / 3600
    price = sum(s.import_eur_per_kwh * (s.end - s.start).total_seconds() for s in steps) / 3600 / hours
    saving = sum(s.cost_without_battery_eur - s.cost_eur for s in steps)
    return PlanNote(
        planner=PLANNER_NAME,
        price_eur_per_kwh=round(max(-10, min(10, price)), 4),
        expected_soc_start_pct=round(max(0, min(100, steps[0].soc_start_pct)), 1),
        expected_soc_end_pct=round(max(0, min(100, steps[-1].soc_end_pct)), 1),
        expected_saving_eur=round(max(-1000, min(1000, saving)), 4),
        reason=_reason(action, steps, price, median)[:200],
    )


def _pieces(result: PlanResult) -> list[_Piece]:
    pieces: list[_Piece] = []
    for step in result.steps:
        action = step_action(step)
        last = pieces[-1] if pieces else None
        if last is not None and last.action == action and last.end == step.start:
            pieces[-1] = _Piece(last.start, step.end, action, (*last.steps, step))
        else:
            pieces.append(_Piece(step.start, step.end, action, (step,)))
    return pieces


def planned_slots(result: PlanResult, timezone: str) -> list[DatedSlot]:
    """The plan as dated slots in ``timezone`` (aware times), neighbours with the same action merged."""
    tz = ZoneInfo(timezone)
    median = statistics.median(s.import_eur_per_kwh for s in result.steps) if result.steps else 0.0
    slots = []
    for index, piece in enumerate(_pieces(result)):
        fields = piece.action.model_dump(exclude={"id", "plan"})
        slots.append(
            DatedSlot(
                id=f"plan-{piece.start.astimezone(tz):%m%d-%H%M}-{index}",
                start=piece.start.astimezone(tz),
                end=piece.end.astimezone(tz),
                plan=_note(piece.action, piece.steps, median),
                **fields,
            )
        )
    return slots


def _person_spans(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Where a person's slot (dated or recurring, not the default) is in force within ``[start, end)``."""
    spans = []
    at = start
    while at < end:
        active = schedule.slot_at(at)
        change = schedule.next_change_after(at)
        until = min(end, change) if change is not None else end
        if active.key != "default":
            spans.append((at, until))
        at = until
    return spans


def _cut(slot: DatedSlot, spans: list[tuple[datetime, datetime]]) -> list[DatedSlot]:
    parts = [(slot.start, slot.end)]
    for low, high in spans:
        next_parts = []
        for a, b in parts:
            if high <= a or low >= b:
                next_parts.append((a, b))
                continue
            if a < low:
                next_parts.append((a, low))
            if high < b:
                next_parts.append((high, b))
        parts = next_parts
    pieces = []
    for number, (a, b) in enumerate(parts):
        if b - a < timedelta(minutes=1):
            continue
        suffix = f"-{number}" if len(parts) > 1 else ""
        pieces.append(slot.model_copy(update={"start": a, "end": b, "id": f"{slot.id}{suffix}"[:64]}))
    return pieces


def merge_into(base: Schedule, planned: list[DatedSlot]) -> Schedule:
    """``base`` with earlier planned slots replaced by ``planned``, cut around every slot a person wrote."""
    own = Schedule(
        timezone=base.timezone,
        default=base.default,
        recurring=base.recurring,
        dated=tuple(slot for slot in base.dated if slot.plan is None),
    )
    if not planned:
        return own
    tz = ZoneInfo(base.timezone)
    start = min(s.start for s in planned).astimezone(tz)
    end = max(s.end for s in planned).astimezone(tz)
    spans = _person_spans(own, start, end)
    kept = [piece for slot in planned for piece in _cut(slot, spans)]
    return Schedule.model_validate(
        {
            "timezone": own.timezone,
            "default": own.default.model_dump(exclude_none=True),
            "recurring": [s.model_dump(mode="json", exclude_none=True) for s in own.recurring],
            "dated": [s.model_dump(mode="json", exclude_none=True) for s in (*own.dated, *kept)],
        }
    )
