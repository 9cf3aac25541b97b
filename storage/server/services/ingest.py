"""Event ingest: store a site's forwarded events once each, derive telemetry, advance the cursor.

Idempotent by ``(site, seq)``: a re-sent event is skipped, and only newly stored events feed the
telemetry samples and rollups, so re-sending a batch never double-counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, case, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.expression import ColumnElement

from storage.schema import to_micros
from storage.server.services.sites import SiteRef
from storage.server.tables import ROLLUPS, SAMPLES, SITE_EVENTS, SITES

__all__ = ["ROLLUP_LEVELS_S", "IngestEvent", "IngestResult", "ingest_events", "sample_of"]

ROLLUP_LEVELS_S = (10, 60, 3600)
SERIES = ("grid", "battery", "soc", "setpoint")
_SAMPLE_COLUMNS = {"grid": "grid_w", "battery": "battery_w", "soc": "soc_pct", "setpoint": "setpoint_w"}
_CURSOR_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class IngestEvent:
    """One event as the daemon forwards it."""

    seq: int
    at: datetime
    kind: str
    payload: dict[str, Any]
    schema_version: int
    software_version: str


@dataclass(frozen=True, slots=True)
class IngestResult:
    """How many events were new, and the highest seq N such that 1..N are all stored."""

    stored: int
    highest_contiguous_seq: int


def _insert(connection: Connection, table: Table) -> Any:
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _setpoint(command: Any) -> float | None:
    if not isinstance(command, dict):
        return None
    power = _number(command.get("power_w", 0))
    kind = command.get("kind")
    if kind == "standby":
        return 0.0
    if power is None:
        return None
    if kind == "discharge":
        return power
    if kind == "charge":
        return -power
    return None


def sample_of(kind: str, payload: dict[str, Any]) -> dict[str, float | None] | None:
    """The telemetry a reading or command carries (``None`` for other kinds or unusable payloads)."""
    if kind == "meter_reading":
        grid = _number(payload.get("grid_w"))
        return None if grid is None else {"grid_w": grid}
    if kind == "battery_reading":
        battery, soc = _number(payload.get("battery_w")), _number(payload.get("soc_pct"))
        if battery is None and soc is None:
            return None
        return {"battery_w": battery, "soc_pct": soc}
    if kind == "command_issued":
        setpoint = _setpoint(payload.get("command"))
        return None if setpoint is None else {"setpoint_w": setpoint}
    return None


def _rollup_rows(site_id: int, samples: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    buckets: dict[tuple[int, int], dict[str, Any]] = {}
    for sample in samples:
        for level in ROLLUP_LEVELS_S:
            width = level * 1_000_000
            start = sample["at"] - sample["at"] % width
            row = buckets.get((level, start))
            if row is None:
                row = {"site_id": site_id, "level_s": level, "start": start}
                for name in SERIES:
                    row.update({f"{name}_n": 0, f"{name}_sum": 0.0, f"{name}_min": None, f"{name}_max": None})
                buckets[(level, start)] = row
            for name, column in _SAMPLE_COLUMNS.items():
                value = sample.get(column)
                if value is None:
                    continue
                row[f"{name}_n"] += 1
                row[f"{name}_sum"] += value
                low, high = row[f"{name}_min"], row[f"{name}_max"]
                row[f"{name}_min"] = value if low is None or value < low else low
                row[f"{name}_max"] = value if high is None or value > high else high
    return list(buckets.values())


def _merge_min(old: ColumnElement[Any], new: ColumnElement[Any], smaller: bool) -> ColumnElement[Any]:
    better = new < old if smaller else new > old
    return case((old.is_(None), new), (new.is_(None), old), (better, new), else_=old)


def _upsert_rollups(connection: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    statement = _insert(connection, ROLLUPS)
    excluded = statement.excluded
    merged: dict[str, Any] = {}
    for name in SERIES:
        merged[f"{name}_n"] = ROLLUPS.c[f"{name}_n"] + excluded[f"{name}_n"]
        merged[f"{name}_sum"] = ROLLUPS.c[f"{name}_sum"] + excluded[f"{name}_sum"]
        merged[f"{name}_min"] = _merge_min(ROLLUPS.c[f"{name}_min"], excluded[f"{name}_min"], True)
        merged[f"{name}_max"] = _merge_min(ROLLUPS.c[f"{name}_max"], excluded[f"{name}_max"], False)
    statement = statement.on_conflict_do_update(index_elements=["site_id", "level_s", "start"], set_=merged)
    connection.execute(statement, rows)


def _advance_cursor(connection: Connection, site: SiteRef) -> int:
    cursor = int(connection.execute(select(SITES.c.ingested_seq).where(SITES.c.id == site.id)).scalar_one())
    start = cursor
    while True:
        seqs = connection.execute(
            select(SITE_EVENTS.c.seq)
            .where(SITE_EVENTS.c.site_id == site.id, SITE_EVENTS.c.seq > cursor)
            .order_by(SITE_EVENTS.c.seq)
            .limit(_CURSOR_CHUNK)
        ).scalars()
        count = 0
        for seq in seqs:
            if seq != cursor + 1:
                count = -1
                break
            cursor = int(seq)
            count += 1
        if count < _CURSOR_CHUNK:
            break
    if cursor > start:
        connection.execute(
            update(SITES)
            .where(SITES.c.id == site.id, SITES.c.ingested_seq < cursor)
            .values(ingested_seq=cursor)
        )
    return cursor


def ingest_events(engine: Engine, site: SiteRef, events: Sequence[IngestEvent]) -> IngestResult:
    """Store ``events`` for ``site`` in one transaction; duplicates (same seq) are skipped."""
    rows: dict[int, dict[str, Any]] = {}
    for event in events:
        if event.seq not in rows:
            rows[event.seq] = {
                "site_id": site.id,
                "seq": event.seq,
                "at": event.at,
                "kind": event.kind,
                "payload": json.dumps(event.payload, separators=(",", ":")),
                "schema_version": event.schema_version,
                "software_version": event.software_version,
            }
    by_seq = {event.seq: event for event in events}
    with engine.begin() as connection:
        new_seqs: list[int] = []
        if rows:
            statement = _insert(connection, SITE_EVENTS).on_conflict_do_nothing().returning(SITE_EVENTS.c.seq)
            new_seqs = [int(seq) for seq in connection.execute(statement, list(rows.values())).scalars()]
        samples: list[dict[str, Any]] = []
        for seq in new_seqs:
            event = by_seq[seq]
            values = sample_of(event.kind, event.payload)
            if values is not None:
                sample: dict[str, Any] = dict.fromkeys(_SAMPLE_COLUMNS.values())
                sample.update(values, site_id=site.id, at=to_micros(event.at), seq=seq)
                samples.append(sample)
        if samples:
            connection.execute(_insert(connection, SAMPLES).on_conflict_do_nothing(), samples)
            _upsert_rollups(connection, _rollup_rows(site.id, samples))
        cursor = _advance_cursor(connection, site)
    return IngestResult(len(new_seqs), cursor)
