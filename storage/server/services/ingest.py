"""Event ingest: store a site's forwarded events once each, derive telemetry, advance the log's cursor.

Idempotent by ``(site, log, seq)``: a re-sent event is skipped, and only newly stored events feed the
telemetry samples and rollups, so re-sending a batch never double-counts. A site's history spans several
logs (a reinstalled daemon starts a new one at seq 1); events a log's identity predates belong to the
site's legacy log. An event that cannot be stored (a NaN, a NUL byte) is kept as an ``ingest_rejected``
marker with the reason, so it counts as handled and never blocks the stream. One transaction per batch;
its first statement locks the site's row (PostgreSQL) or the database (SQLite), so concurrent batches
of one site are applied one after the other.

The three bulk statements (events, samples, rollups) go to the driver as plain ``executemany`` with
prepared SQL: SQLAlchemy's per-row parameter processing would cost more than the database work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from pydantic_core import to_json
from sqlalchemy import Connection, Engine, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite

from controller.wire import LEGACY_LOG_ID, IngestBatch, payload_problem
from controller.wire import IngestEvent as WireEvent
from storage.schema import to_micros
from storage.server.services.sites import SiteRef
from storage.server.tables import SITE_EVENTS, SITE_LOGS, SITES

__all__ = [
    "REJECTED_KIND",
    "ROLLUP_LEVELS_S",
    "IngestEvent",
    "IngestResult",
    "dialect_insert",
    "ingest_events",
    "parse_batch",
    "sample_of",
]

ROLLUP_LEVELS_S = (10, 60, 3600)  # each level is built from the one before it
SERIES = ("grid", "battery", "soc", "setpoint")
_CURSOR_CHUNK = 5000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

REJECTED_KIND = "ingest_rejected"
_EVENT_COLUMNS = ("site_id", "log", "seq", "at", "kind", "payload", "schema_version", "software_version")
_SAMPLE_COLUMNS = ("site_id", "at", "seq", "grid_w", "battery_w", "soc_pct", "setpoint_w")
_ROLLUP_COLUMNS = ("site_id", "level_s", "start") + tuple(
    f"{name}_{stat}" for name in SERIES for stat in ("n", "sum", "min", "max")
)


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
    """How many events were new, the highest seq N such that the log's seqs up to N are all handled,
    and the events rejected (seq, reason)."""

    stored: int
    highest_contiguous_seq: int
    rejected: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class _Log:
    """A site's log as the ingest sees it: row id, first seq and cursor."""

    id: int
    first_seq: int
    cursor: int


def dialect_insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT construct (with ``on_conflict_*``) for SQLite or PostgreSQL."""
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
    kind = command.get("kind")
    if kind == "standby":
        return 0.0
    power = _number(command.get("power_w", 0))
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


def _sql(connection: Connection, text: str) -> str:
    """``text`` written with ``?`` placeholders, in the driver's paramstyle."""
    return text if connection.dialect.paramstyle == "qmark" else text.replace("?", "%s")


def _insert_sql(table: str, columns: Sequence[str]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def _merge(column: str) -> str:
    old, new = f"telemetry_rollups.{column}", f"excluded.{column}"
    if column.endswith(("_n", "_sum")):
        return f"{column} = {old} + {new}"
    better = "<" if column.endswith("_min") else ">"
    return (
        f"{column} = CASE WHEN {old} IS NULL THEN {new} WHEN {new} IS NULL THEN {old} "
        f"WHEN {new} {better} {old} THEN {new} ELSE {old} END"
    )


_ROLLUPS_SQL = (
    _insert_sql("telemetry_rollups", _ROLLUP_COLUMNS)
    + " ON CONFLICT (site_id, level_s, start) DO UPDATE SET "
    + ", ".join(_merge(c) for c in _ROLLUP_COLUMNS[3:])
)


_PG_TYPES = {"site_id": "int", "level_s": "int", "start": "bigint"}
_PG_ROLLUPS_SQL = _ROLLUPS_SQL.replace(
    "VALUES (" + ", ".join("?" * len(_ROLLUP_COLUMNS)) + ")",
    "SELECT * FROM unnest("
    + ", ".join(f"%s::{_PG_TYPES.get(c, 'int' if c.endswith('_n') else 'float8')}[]" for c in _ROLLUP_COLUMNS)
    + ")",
)


def _fold(stats: list[Any], offset: int, n: int, total: float, low: float, high: float) -> None:
    """Merge (n, sum, min, max) into ``stats[offset:offset + 4]``."""
    if stats[offset] == 0:
        stats[offset : offset + 4] = [n, total, low, high]
        return
    stats[offset] += n
    stats[offset + 1] += total
    if low < stats[offset + 2]:
        stats[offset + 2] = low
    if high > stats[offset + 3]:
        stats[offset + 3] = high


def _rollups(samples: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Rollup rows of every level for samples ``(site_id, at_us, seq, grid, battery, soc, setpoint)``."""
    rows: list[tuple[Any, ...]] = []
    width = ROLLUP_LEVELS_S[0] * 1_000_000
    level: dict[int, list[Any]] = {}
    for sample in samples:
        at = sample[1]
        stats = level.get(at - at % width)
        if stats is None:
            stats = level[at - at % width] = [0, 0.0, None, None] * 4
        for i in range(4):
            value = sample[3 + i]
            if value is not None:
                _fold(stats, 4 * i, 1, value, value, value)
    site_id = samples[0][0]
    previous = ROLLUP_LEVELS_S[0]
    rows.extend((site_id, previous, start, *stats) for start, stats in level.items())
    for level_s in ROLLUP_LEVELS_S[1:]:
        width = level_s * 1_000_000
        coarser: dict[int, list[Any]] = {}
        for start, stats in level.items():
            target = coarser.get(start - start % width)
            if target is None:
                target = coarser[start - start % width] = [0, 0.0, None, None] * 4
            for i in range(4):
                if stats[4 * i]:
                    _fold(target, 4 * i, *stats[4 * i : 4 * i + 4])
        rows.extend((site_id, level_s, start, *stats) for start, stats in coarser.items())
        level = coarser
    return rows


def _bulk_insert(
    connection: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]
) -> None:
    """Insert ``rows``: COPY on PostgreSQL, one prepared ``executemany`` on SQLite."""
    if connection.dialect.name == "postgresql":
        raw = connection.connection.driver_connection
        assert raw is not None
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    connection.exec_driver_sql(_sql(connection, _insert_sql(table, columns)), rows)


def _upsert_rollups(connection: Connection, rows: list[tuple[Any, ...]]) -> None:
    """Merge rollup rows: one statement over arrays (``unnest``) on PostgreSQL, ``executemany`` on SQLite."""
    if connection.dialect.name != "postgresql":
        connection.exec_driver_sql(_sql(connection, _ROLLUPS_SQL), rows)
        return
    columns = list(zip(*rows, strict=True))
    connection.exec_driver_sql(_PG_ROLLUPS_SQL, tuple(list(column) for column in columns))


def _advance_cursor(connection: Connection, site: SiteRef, log: _Log, stored: set[int]) -> int:
    """Move the log's cursor over every contiguous stored seq; ``stored`` are seqs known to be stored."""
    cursor = log.cursor
    while cursor + 1 in stored:  # fast path: the batch continues the cursor
        cursor += 1
    while True:
        seqs = connection.execute(
            select(SITE_EVENTS.c.seq)
            .where(SITE_EVENTS.c.site_id == site.id, SITE_EVENTS.c.log == log.id, SITE_EVENTS.c.seq > cursor)
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
    if cursor > log.cursor:
        connection.execute(
            update(SITE_LOGS)
            .where(SITE_LOGS.c.id == log.id, SITE_LOGS.c.ingested_seq < cursor)
            .values(ingested_seq=cursor)
        )
    return cursor


def _existing(connection: Connection, site: SiteRef, log: _Log, seqs: Sequence[int]) -> set[int]:
    statement = select(SITE_EVENTS.c.seq).where(
        SITE_EVENTS.c.site_id == site.id,
        SITE_EVENTS.c.log == log.id,
        SITE_EVENTS.c.seq.between(min(seqs), max(seqs)),
    )
    return {int(seq) for seq in connection.execute(statement).scalars()}


def _log_of(connection: Connection, site: SiteRef, log_id: str, first_seq: int, now: datetime) -> _Log:
    """The site's log ``log_id``, registered on first sight with its cursor just before ``first_seq``."""
    query = select(SITE_LOGS.c.id, SITE_LOGS.c.first_seq, SITE_LOGS.c.ingested_seq).where(
        SITE_LOGS.c.site_id == site.id, SITE_LOGS.c.log_id == log_id
    )
    row = connection.execute(query).first()
    if row is None:
        connection.execute(
            SITE_LOGS.insert().values(
                site_id=site.id,
                log_id=log_id,
                first_seq=first_seq,
                ingested_seq=first_seq - 1,
                first_seen_at=now,
            )
        )
        row = connection.execute(query).one()
    return _Log(int(row[0]), int(row[1]), int(row[2]))


_SUSPECT = ("NaN", "Infinity", "\\u0000")  # how to_json writes non-finite numbers and NUL characters


def _rejection(event: IngestEvent, payload: str, reasons: dict[int, str]) -> str | None:
    """Why ``event`` (with its JSON ``payload``) cannot be stored, or ``None``.

    The JSON text is searched first (fast); only a suspect payload is walked to confirm and name the problem.
    """
    if event.seq in reasons:
        return reasons[event.seq]
    if "\x00" in event.software_version:
        return "software_version contains a NUL byte"
    if any(token in payload for token in _SUSPECT):
        return payload_problem(event.payload)
    return None


def _store(
    connection: Connection, site: SiteRef, log: _Log, events: Sequence[IngestEvent], reasons: dict[int, str]
) -> tuple[int, int, list[tuple[int, str]]]:
    """Store the new ``events`` of one log; returns (stored, cursor, rejected)."""
    fresh: dict[int, tuple[IngestEvent, str]] = {}
    known: set[int] = set()
    rejected: list[tuple[int, str]] = []
    if events:
        known = _existing(connection, site, log, [event.seq for event in events])
        for event in events:
            if event.seq in known or event.seq in fresh:
                continue
            payload = to_json(event.payload).decode()
            reason = _rejection(event, payload, reasons)
            if reason is not None:
                rejected.append((event.seq, reason))
                marker = {"kind": event.kind, "reason": reason}
                event = IngestEvent(event.seq, event.at, REJECTED_KIND, marker, 1, "server")  # noqa: PLW2901
                payload = to_json(marker).decode()
            fresh[event.seq] = (event, payload)
    if fresh:
        event_rows = []
        samples: list[tuple[Any, ...]] = []
        for event, payload in fresh.values():
            at = to_micros(event.at)
            event_rows.append(
                (
                    site.id,
                    log.id,
                    event.seq,
                    at,
                    event.kind,
                    payload,
                    event.schema_version,
                    event.software_version,
                )
            )
            values = sample_of(event.kind, event.payload)
            if values is not None:
                samples.append(
                    (
                        site.id,
                        at,
                        event.seq,
                        values.get("grid_w"),
                        values.get("battery_w"),
                        values.get("soc_pct"),
                        values.get("setpoint_w"),
                    )
                )
        _bulk_insert(connection, "site_events", _EVENT_COLUMNS, event_rows)
        if samples:
            _bulk_insert(connection, "telemetry_samples", _SAMPLE_COLUMNS, samples)
            _upsert_rollups(connection, _rollups(samples))
    cursor = _advance_cursor(connection, site, log, known | fresh.keys())
    return len(fresh) - len(rejected), cursor, rejected


def ingest_events(
    engine: Engine,
    site: SiteRef,
    events: Sequence[IngestEvent],
    *,
    log_id: str | None = None,
    first_seq: int = 1,
    now: datetime | None = None,
    invalid: Sequence[tuple[int, str]] = (),
) -> IngestResult:
    """Store ``events`` of the log ``log_id`` (``None``: the legacy log) for ``site`` in one transaction.

    Duplicates (same log and seq) are skipped; events before the log's ``first_seq`` go to the legacy
    log; an event that cannot be stored is rejected with a reason and kept as a marker, and so is each
    of ``invalid`` (seq, reason): events that did not even parse.
    """
    reasons = dict(invalid)
    if invalid:
        placeholder_at = now or min((event.at for event in events), default=_EPOCH)
        events = [
            *events,
            *(IngestEvent(seq, placeholder_at, "invalid", {}, 1, "unknown") for seq, _ in invalid),
        ]
    with engine.begin() as connection:
        # Lock first: the site's row on PostgreSQL, the write lock on SQLite.
        connection.execute(
            update(SITES).where(SITES.c.id == site.id).values(ingested_seq=SITES.c.ingested_seq)
        )
        seen_at = now or (min(event.at for event in events) if events else site_created(connection, site))
        log = _log_of(connection, site, log_id or LEGACY_LOG_ID, first_seq if log_id else 1, seen_at)
        current = [event for event in events if event.seq >= log.first_seq]
        older = [event for event in events if event.seq < log.first_seq]
        stored, cursor, rejected = _store(connection, site, log, current, reasons)
        if older:
            legacy = _log_of(connection, site, LEGACY_LOG_ID, 1, seen_at)
            more, _, also = _store(connection, site, legacy, older, reasons)
            stored, rejected = stored + more, rejected + also
        connection.execute(update(SITES).where(SITES.c.id == site.id).values(ingested_seq=cursor))
    return IngestResult(stored, cursor, tuple(rejected))


def site_created(connection: Connection, site: SiteRef) -> datetime:
    """When the site was registered."""
    created: datetime = connection.execute(
        select(SITES.c.created_at).where(SITES.c.id == site.id)
    ).scalar_one()
    return created


class _Envelope(IngestBatch):
    """A batch whose events are checked one by one (the slow path, after the whole batch failed)."""

    events: list[Any]


def parse_batch(body: bytes, max_events: int) -> tuple[IngestBatch, list[tuple[int, str]]]:
    """The batch, and the (seq, reason) of each event that is not a valid event but names its seq.

    Raises :class:`~pydantic.ValidationError` when the batch itself is invalid or a bad event has no
    usable seq, and :class:`ValueError` when it holds more than ``max_events`` events.
    """
    try:
        batch = IngestBatch.model_validate_json(body)
        invalid: list[tuple[int, str]] = []
    except ValidationError as err:
        if not all(error["loc"][:1] == ("events",) and len(error["loc"]) >= 2 for error in err.errors()):
            raise
        envelope = _Envelope.model_validate_json(body)
        events: list[WireEvent] = []
        invalid = []
        for raw in envelope.events:
            try:
                events.append(WireEvent.model_validate(raw))
            except ValidationError as bad:
                seq = raw.get("seq") if isinstance(raw, dict) else None
                if not isinstance(seq, int) or isinstance(seq, bool) or not 1 <= seq <= 2**62:
                    raise err from bad
                first = bad.errors(include_url=False)[0]
                where = ".".join(str(part) for part in first["loc"]) or "event"
                invalid.append((seq, f"{where}: {first['msg']}"[:300]))
        batch = IngestBatch(log_id=envelope.log_id, log_first_seq=envelope.log_first_seq, events=events)
    if len(batch.events) + len(invalid) > max_events:
        raise ValueError(f"too many events in one batch (limit {max_events})")
    return batch, invalid
