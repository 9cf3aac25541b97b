"""Audit: the command in force at a moment, and the events that decided it.

The explanation is :func:`controller.logtools.audit.explain_at`, the same one ``zsm audit`` gives on the
daemon's log; this module only picks the events from the server's copy. Causes come from the log of the
command in force (seqs compare only within one log); the next command may come from a later log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from controller.domain.schedule import DEFAULT_TIMEZONE
from controller.logtools.audit import CAUSE_KINDS, SINCE_KINDS, explain_at
from controller.logtools.audit import Audit as Explained
from storage.event_log import StoredEvent, decode_payload
from storage.server.services.ingest import sample_of
from storage.server.services.sites import SiteRef
from storage.server.tables import SITE_EVENTS

__all__ = ["Audit", "audit_at"]

_COLUMNS = (
    SITE_EVENTS.c.seq,
    SITE_EVENTS.c.at,
    SITE_EVENTS.c.kind,
    SITE_EVENTS.c.payload,
    SITE_EVENTS.c.schema_version,
    SITE_EVENTS.c.software_version,
)
_READING_WINDOW = timedelta(minutes=5)
_AFTER_KINDS = (*SINCE_KINDS, "command_result", "command_not_applied")


@dataclass(frozen=True, slots=True)
class Audit:
    """The answer: the command (``None`` when none was issued yet), its result, its causes, the words."""

    at: datetime
    command: dict[str, Any] | None
    in_force_until: datetime | None = None
    result: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)
    explanation: str = ""
    explained: Explained | None = None


def _event(row: Any) -> dict[str, Any]:
    return {"seq": int(row[0]), "at": row[1], "kind": str(row[2]), "payload": json.loads(row[3])}


def _stored(site: SiteRef, row: Any) -> StoredEvent | None:
    event = decode_payload(str(row[2]), row[1], json.loads(row[3]), int(row[4]))
    if event is None:
        return None
    return StoredEvent(int(row[0]), event, site.name, int(row[4]), str(row[5]))


def _timezone(connection: Connection, site: SiteRef, log: int, before: datetime) -> str:
    row = connection.execute(
        select(SITE_EVENTS.c.payload)
        .where(
            SITE_EVENTS.c.site_id == site.id,
            SITE_EVENTS.c.log == log,
            SITE_EVENTS.c.kind == "schedule_loaded",
            SITE_EVENTS.c.at <= before,
        )
        .order_by(SITE_EVENTS.c.at.desc())
        .limit(1)
    ).first()
    if row is not None:
        name = (json.loads(row[0]).get("schedule") or {}).get("timezone")
        if isinstance(name, str) and name:
            return name
    return DEFAULT_TIMEZONE


def audit_at(engine: Engine, site: SiteRef, at: datetime) -> Audit:
    """What the battery was told to do at ``at`` for ``site``, and why."""
    mine = SITE_EVENTS.c.site_id == site.id
    with engine.connect() as connection:
        row = connection.execute(
            select(*_COLUMNS, SITE_EVENTS.c.log)
            .where(mine, SITE_EVENTS.c.kind == "command_issued", SITE_EVENTS.c.at <= at)
            .order_by(SITE_EVENTS.c.at.desc(), SITE_EVENTS.c.seq.desc())
            .limit(1)
        ).first()
        if row is None:
            explained = explain_at([], at)
            return Audit(at, None, explanation=explained.summary, explained=explained)
        command = _event(row)
        seq, at_command, log = command["seq"], row[1], int(row[6])
        in_log = (mine, SITE_EVENTS.c.log == log)
        following = connection.execute(
            select(*_COLUMNS)
            .where(mine, SITE_EVENTS.c.kind == "command_issued", SITE_EVENTS.c.at > at)
            .order_by(SITE_EVENTS.c.at)
            .limit(1)
        ).first()
        rows: list[Any] = [row]
        for kind in CAUSE_KINDS:
            window = (SITE_EVENTS.c.at >= at_command - _READING_WINDOW,) if kind.endswith("_reading") else ()
            found = connection.execute(
                select(*_COLUMNS)
                .where(*in_log, SITE_EVENTS.c.kind == kind, SITE_EVENTS.c.seq < seq, *window)
                .order_by(SITE_EVENTS.c.seq.desc())
                .limit(1)
            ).first()
            if found is not None:
                rows.append(found)
        rows.extend(
            connection.execute(
                select(*_COLUMNS)
                .where(
                    *in_log,
                    SITE_EVENTS.c.kind.in_(_AFTER_KINDS),
                    SITE_EVENTS.c.seq > seq,
                    SITE_EVENTS.c.at <= at,
                )
                .order_by(SITE_EVENTS.c.seq)
                .limit(200)
            ).all()
        )
        timezone = _timezone(connection, site, log, at_command)
    rows.sort(key=lambda r: int(r[0]))
    stored = [item for r in rows if (item := _stored(site, r)) is not None]
    if following is not None and (next_event := _stored(site, following)) is not None:
        stored.append(StoredEvent(2**62, next_event.event, site.name, next_event.schema_version, ""))
    explained = explain_at(stored, at, timezone)
    result = next((_event(r) for r in rows if r[2] == "command_result" and int(r[0]) > seq), None)
    command["setpoint_w"] = (sample_of("command_issued", command["payload"]) or {}).get("setpoint_w")
    events = [_event(r) for r in rows if int(r[0]) < seq]
    return Audit(
        at=at,
        command=command,
        in_force_until=None if following is None else following[1],
        result=result,
        events=events,
        explanation=explained.summary,
        explained=explained,
    )
