"""Audit: the command in force at a moment, and the events that decided it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from storage.server.services.ingest import sample_of
from storage.server.services.sites import SiteRef
from storage.server.tables import SITE_EVENTS

__all__ = ["DECIDING_KINDS", "Audit", "audit_at"]

# The latest event of each of these kinds at or before a command is part of its explanation.
DECIDING_KINDS = (
    "schedule_loaded",
    "slot_changed",
    "state_changed",
    "meter_reading",
    "battery_reading",
    "lag_estimated",
    "source_stale",
    "source_recovered",
    "device_fault",
)
_COLUMNS = (SITE_EVENTS.c.seq, SITE_EVENTS.c.at, SITE_EVENTS.c.kind, SITE_EVENTS.c.payload)


@dataclass(frozen=True, slots=True)
class Audit:
    """The answer: the command (``None`` when none was issued yet), its result, and its causes."""

    at: datetime
    command: dict[str, Any] | None
    in_force_until: datetime | None = None
    result: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""


def _event(row: Any) -> dict[str, Any]:
    return {"seq": int(row[0]), "at": row[1], "kind": str(row[2]), "payload": json.loads(row[3])}


def _explain(command: dict[str, Any], events: list[dict[str, Any]]) -> str:
    payload = command["payload"]
    cmd = payload.get("command") or {}
    what = (
        "standby" if cmd.get("kind") == "standby" else f"{cmd.get('kind', '?')} {cmd.get('power_w', '?')} W"
    )
    parts = [f"In state {payload.get('state', '?')} the controller commanded {what}"]
    if payload.get("reason"):
        parts[0] += f" because {payload['reason']}"
    inputs = payload.get("inputs") or {}
    if inputs:
        parts.append("inputs: " + ", ".join(f"{k}={v}" for k, v in sorted(inputs.items())))
    by_kind = {e["kind"]: e for e in events}
    if "slot_changed" in by_kind:
        slot = by_kind["slot_changed"]["payload"]
        parts.append(f"schedule slot: {slot.get('mode', '?')}")
    if "state_changed" in by_kind:
        change = by_kind["state_changed"]["payload"]
        moved = f"{change.get('from_state')} -> {change.get('to_state')}"
        parts.append(f"last state change: {moved} ({change.get('reason', '')})")
    return "; ".join(parts) + "."


def audit_at(engine: Engine, site: SiteRef, at: datetime) -> Audit:
    """What the battery was told to do at ``at`` for ``site``, and why."""
    mine = SITE_EVENTS.c.site_id == site.id
    with engine.connect() as connection:
        row = connection.execute(
            select(*_COLUMNS)
            .where(mine, SITE_EVENTS.c.kind == "command_issued", SITE_EVENTS.c.at <= at)
            .order_by(SITE_EVENTS.c.at.desc(), SITE_EVENTS.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            return Audit(at, None, explanation="no command had been issued by then")
        command = _event(row)
        seq, at_command = command["seq"], row[1]
        after = (SITE_EVENTS.c.at >= at_command, SITE_EVENTS.c.seq > seq)
        following = connection.execute(
            select(*_COLUMNS)
            .where(mine, SITE_EVENTS.c.kind == "command_issued", *after)
            .order_by(SITE_EVENTS.c.at, SITE_EVENTS.c.seq)
            .limit(1)
        ).first()
        result = connection.execute(
            select(*_COLUMNS)
            .where(mine, SITE_EVENTS.c.kind == "command_result", *after)
            .order_by(SITE_EVENTS.c.at, SITE_EVENTS.c.seq)
            .limit(1)
        ).first()
        events = []
        for kind in DECIDING_KINDS:
            found = connection.execute(
                select(*_COLUMNS)
                .where(
                    mine, SITE_EVENTS.c.kind == kind, SITE_EVENTS.c.at <= at_command, SITE_EVENTS.c.seq < seq
                )
                .order_by(SITE_EVENTS.c.at.desc(), SITE_EVENTS.c.seq.desc())
                .limit(1)
            ).first()
            if found is not None:
                events.append(_event(found))
    events.sort(key=lambda e: e["seq"])
    command["setpoint_w"] = (sample_of("command_issued", command["payload"]) or {}).get("setpoint_w")
    return Audit(
        at=at,
        command=command,
        in_force_until=None if following is None else following[1],
        result=None if result is None else _event(result),
        events=events,
        explanation=_explain(command, events),
    )
