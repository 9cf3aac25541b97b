"""The append-only event log: the daemon's source of truth.

The API appends and reads, nothing else. Each append (one event or a batch) is one transaction, so a
control tick's events land together or not at all. Reading decodes each row into its pydantic event;
rows of kinds this version does not know are kept in the database and skipped on read (see
:meth:`EventLog.read_raw_after` to see them), and older payload shapes are upcast on the way out.

Rows name their kind by a small id from the ``event_kinds`` table (a 1-byte integer instead of a name
on every row); times are epoch milliseconds, in the ``at`` column and inside payloads.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import BigInteger, ColumnElement, Connection, Engine, Table, func, insert, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError

from controller import __version__
from controller.clock import Clock, SystemClock
from controller.domain.events import COMPACT, EventBase, event_kinds
from controller.domain.upcasting import upcast
from storage.database import create_db_engine, sqlite_url
from storage.migrate import upgrade
from storage.schema import (
    HIGH_VOLUME_MAX_KIND_ID,
    EventKindRow,
    EventRow,
    LogIdentityRow,
    from_millis,
    to_millis,
)

__all__ = [
    "EventLog",
    "EventLogError",
    "LogIdentity",
    "RawEvent",
    "StoredEvent",
    "decode_payload",
    "encode_payload",
]

LOGGER = logging.getLogger(__name__)

_TABLE: Table = EventRow.__table__  # type: ignore[assignment]
_KINDS: Table = EventKindRow.__table__  # type: ignore[assignment]
_IDENTITY: Table = LogIdentityRow.__table__  # type: ignore[assignment]
_SELECT = "SELECT seq, at, kind_id, payload, site_id, schema_version, software_version FROM events"
_INSERT = (
    "INSERT INTO events (at, kind_id, payload, site_id, schema_version, software_version) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_STREAM_COLUMNS = (
    _TABLE.c.seq,
    type_coerce(_TABLE.c.at, BigInteger()).label("at_ms"),  # raw epoch milliseconds
    _TABLE.c.kind_id,
    _TABLE.c.payload,
    _TABLE.c.site_id,
    _TABLE.c.schema_version,
    _TABLE.c.software_version,
)
STREAM_BATCH = 1_000  # larger batches keep more objects alive and make the GC work harder


class EventLogError(Exception):
    """An append could not be stored (bad event, database error, disk full); nothing of the batch was kept."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """A decoded event with its place in the log."""

    seq: int
    event: EventBase
    site_id: str
    schema_version: int
    software_version: str

    @property
    def at(self) -> datetime:
        return self.event.at

    @property
    def kind(self) -> str:
        return self.event.kind


@dataclass(frozen=True, slots=True)
class RawEvent:
    """A row as stored, undecoded (what the forwarder ships, unknown kinds included)."""

    seq: int
    at: datetime
    kind: str
    payload: dict[str, Any]
    site_id: str
    schema_version: int
    software_version: str


@dataclass(frozen=True, slots=True)
class LogIdentity:
    """Which log this is (32 hex digits, random) and the first seq written under that identity."""

    log_id: str
    first_seq: int


def encode_payload(event: EventBase) -> str:
    """Compact JSON of an event without ``kind`` and ``at`` (own columns); times as epoch milliseconds."""
    return event.model_dump_json(exclude={"kind", "at"}, exclude_none=True, context=COMPACT)


def decode_payload(kind: str, at: datetime, payload: dict[str, Any], schema_version: int) -> EventBase | None:
    """An event from its stored parts (upcast from an older shape); ``None`` for unknown or broken ones."""
    cls = event_kinds().get(kind)
    if cls is None:
        return None
    try:
        data = upcast(kind, schema_version, cls.schema_version, dict(payload))
        data["at"] = at
        return cls.model_validate(data)
    except (ValidationError, LookupError, ValueError) as err:
        LOGGER.warning("event of kind %s does not decode, skipped: %s", kind, err)
        return None


class EventLog:
    """Append and read events of one site in a SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine, site_id: str, software_version: str = __version__) -> None:
        self.engine = engine
        self.site_id = site_id
        self.software_version = software_version
        self._models = event_kinds()
        self._kind_ids: dict[str, int] = {}
        self._kind_names: dict[int, str] = {}
        self._skipped_kinds: set[str] = set()
        placeholder = "?" if engine.dialect.paramstyle in ("qmark", "numeric") else "%s"
        self._sql_after = f"{_SELECT} WHERE seq > {placeholder} ORDER BY seq LIMIT {placeholder}"
        self._sqlite = engine.dialect.name == "sqlite"
        self._writer: Any = None  # SQLite: one DB-API connection kept for appends (the daemon's hot path)
        self._writer_lock = threading.Lock()
        self._identity: LogIdentity | None = None

    @classmethod
    def open(cls, url: str, site_id: str, *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the database at ``url``; a new log gets its identity here."""
        engine = create_db_engine(url)
        log = cls(engine, site_id)
        if migrate:
            upgrade(engine)
            log.identity()  # created with the log, before its first event
        return log

    @classmethod
    def open_sqlite(cls, path: Path | str, site_id: str = "home", *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the SQLite file at ``path``."""
        return cls.open(sqlite_url(path), site_id, migrate=migrate)

    def close(self) -> None:
        """Release the database connections."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self.engine.dispose()

    # -- identity --------------------------------------------------------------------------------------

    def identity(self, clock: Clock | None = None) -> LogIdentity:
        """The log's identity, created on first use (a new log: first seq 1; an older log: after its last)."""
        if self._identity is not None:
            return self._identity
        with self.engine.begin() as connection:
            row = connection.execute(select(_IDENTITY.c.log_id, _IDENTITY.c.first_seq)).first()
            if row is None:
                last = connection.execute(select(func.max(_TABLE.c.seq))).scalar()
                log_id, first_seq = uuid.uuid4().hex, int(last or 0) + 1
                connection.execute(
                    insert(_IDENTITY).values(
                        log_id=log_id, first_seq=first_seq, created_at=(clock or SystemClock()).now()
                    )
                )
                LOGGER.info("event log identity %s created (first seq %d)", log_id, first_seq)
            else:
                log_id, first_seq = str(row[0]), int(row[1])
        self._identity = LogIdentity(log_id, first_seq)
        return self._identity

    # -- kinds -----------------------------------------------------------------------------------------

    def _load_kinds(self, connection: Connection) -> None:
        for kind_id, name in connection.execute(select(_KINDS.c.id, _KINDS.c.name)):
            self._kind_ids[name] = int(kind_id)
            self._kind_names[int(kind_id)] = name

    def _ensure_kinds(self, connection: Connection, names: set[str]) -> dict[str, int]:
        """Ids of ``names``, registering new kinds inside the caller's transaction."""
        missing = names - self._kind_ids.keys()
        if not missing:
            return self._kind_ids
        ids = dict(self._kind_ids)
        dialect = sqlite if connection.dialect.name == "sqlite" else postgresql
        for name in sorted(missing):
            connection.execute(dialect.insert(_KINDS).values(name=name).on_conflict_do_nothing())
            ids[name] = int(connection.execute(select(_KINDS.c.id).where(_KINDS.c.name == name)).scalar_one())
        return ids

    def _kind_name(self, connection: Connection, kind_id: int) -> str:
        name = self._kind_names.get(kind_id)
        if name is None:
            self._load_kinds(connection)
            name = self._kind_names.get(kind_id, f"unknown#{kind_id}")
        return name

    # -- writing ---------------------------------------------------------------------------------------

    def _row(self, event: EventBase, kind_ids: dict[str, int]) -> dict[str, Any]:
        return {
            "at": event.at,
            "kind_id": kind_ids[event.kind],
            "payload": encode_payload(event),
            "site_id": self.site_id,
            "schema_version": type(event).schema_version,
            "software_version": self.software_version,
        }

    def append(self, event: EventBase) -> int:
        """Append one event in its own transaction; returns its ``seq``."""
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[EventBase]) -> list[int]:
        """Append ``events`` in one transaction (all or nothing); returns their ``seq`` values in order."""
        if not events:
            return []
        for event in events:
            if not isinstance(event, EventBase):
                raise EventLogError(f"not an event: {event!r}")
            if event.kind not in self._models:
                raise EventLogError(f"unknown event kind {event.kind!r}")
        if self._sqlite and all(event.kind in self._kind_ids for event in events):
            return self._append_sqlite(events)
        statement = insert(_TABLE).returning(_TABLE.c.seq, sort_by_parameter_order=True)
        try:
            with self.engine.begin() as connection:
                kind_ids = self._ensure_kinds(connection, {event.kind for event in events})
                rows = [self._row(event, kind_ids) for event in events]
                seqs = [int(seq) for seq in connection.execute(statement, rows).scalars().all()]
        except (SQLAlchemyError, ValueError) as err:
            raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
        if kind_ids is not self._kind_ids:  # committed: the new kinds exist now
            self._kind_ids = kind_ids
            self._kind_names = {kind_id: name for name, kind_id in kind_ids.items()}
        return seqs

    def _append_sqlite(self, events: Sequence[EventBase]) -> list[int]:
        """The same append as the SQLAlchemy path, on a kept DB-API connection (a tenth of the CPU).

        Inside ``BEGIN IMMEDIATE`` this connection holds the write lock, so the new rowids are consecutive
        and end at ``last_insert_rowid()``.
        """
        kind_ids = self._kind_ids
        try:
            rows = [
                (
                    to_millis(event.at),
                    kind_ids[event.kind],
                    encode_payload(event),
                    self.site_id,
                    type(event).schema_version,
                    self.software_version,
                )
                for event in events
            ]
        except ValueError as err:
            raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
        with self._writer_lock:
            try:
                if self._writer is None:
                    self._writer = self.engine.raw_connection()
                writer = self._writer
                writer.execute("BEGIN IMMEDIATE")
                try:
                    writer.executemany(_INSERT, rows)
                    last = int(writer.execute("SELECT last_insert_rowid()").fetchone()[0])
                    writer.execute("COMMIT")
                except BaseException:
                    with contextlib.suppress(sqlite3.Error):
                        writer.execute("ROLLBACK")
                    raise
            except sqlite3.Error as err:
                raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
        return list(range(last - len(rows) + 1, last + 1))

    # -- reading ---------------------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The highest ``seq`` in the log (0 when empty)."""
        with self.engine.connect() as connection:
            value = connection.execute(select(func.max(_TABLE.c.seq))).scalar()
        return int(value or 0)

    def count(self) -> int:
        """Number of rows in the log (all kinds)."""
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(_TABLE)).scalar() or 0)

    def read_after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Known events with ``seq`` greater than ``seq``, in order; at most ``limit`` rows are scanned."""
        return self._decode_rows(self._fetch_after(seq, limit))

    def read_raw_after(self, seq: int, limit: int = 1000) -> list[RawEvent]:
        """Rows with ``seq`` greater than ``seq`` as stored (unknown kinds included), in order."""
        rows = self._fetch_after(seq, limit)
        with self.engine.connect() as connection:
            return [
                RawEvent(
                    int(r[0]),
                    from_millis(r[1]),
                    self._kind_name(connection, r[2]),
                    json.loads(r[3]),
                    r[4],
                    int(r[5]),
                    r[6],
                )
                for r in rows
            ]

    def read_range(
        self, start: datetime, end: datetime, kinds: Iterable[str] | None = None
    ) -> list[StoredEvent]:
        """Known events with ``start <= at < end`` (optionally only ``kinds``), ordered by ``seq``."""
        return list(self.iter_range(start, end, kinds))

    def iter_range(
        self, start: datetime, end: datetime, kinds: Iterable[str] | None = None
    ) -> Iterator[StoredEvent]:
        """Stream the events with ``start <= at < end`` in ``seq`` order, in constant memory."""
        conditions: list[ColumnElement[bool]] = [_TABLE.c.at >= start, _TABLE.c.at < end]
        if kinds is not None:
            with self.engine.connect() as connection:
                self._load_kinds(connection)
            conditions.append(_TABLE.c.kind_id.in_([self._kind_ids[k] for k in kinds if k in self._kind_ids]))
        return self._stream(conditions, after=0)

    def _stream(self, conditions: list[ColumnElement[bool]], after: int) -> Iterator[StoredEvent]:
        """Keyset-paged scan of the rows matching ``conditions`` after ``after``, decoded batch by batch."""
        while True:
            statement = (
                select(*_STREAM_COLUMNS)
                .where(_TABLE.c.seq > after, *conditions)
                .order_by(_TABLE.c.seq)
                .limit(STREAM_BATCH)
            )
            with self.engine.connect() as connection:
                rows = [tuple(row) for row in connection.execute(statement)]
            if not rows:
                return
            yield from self._decode_rows(rows)
            after = int(rows[-1][0])

    @staticmethod
    def _kind_index_hint(kind_id: int) -> ColumnElement[bool]:
        """A condition that lets the planner use the partial kind index (true for non-reading kinds)."""
        if kind_id > HIGH_VOLUME_MAX_KIND_ID:
            return _TABLE.c.kind_id > HIGH_VOLUME_MAX_KIND_ID
        return _TABLE.c.kind_id <= HIGH_VOLUME_MAX_KIND_ID

    def last_of_kind(self, kind: str) -> StoredEvent | None:
        """The newest event of ``kind`` (``None`` when there is none)."""
        with self.engine.connect() as connection:
            self._load_kinds(connection)
            kind_id = self._kind_ids.get(kind)
            if kind_id is None:
                return None
            row = connection.execute(
                select(_TABLE.c.seq)
                .where(_TABLE.c.kind_id == kind_id, self._kind_index_hint(kind_id))
                .order_by(_TABLE.c.seq.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        found = self.read_after(int(row[0]) - 1, limit=1)
        return found[0] if found else None

    def iter_events(self, after: int = 0, batch: int = STREAM_BATCH) -> Iterator[StoredEvent]:
        """Stream every known event after ``after`` in ``seq`` order, ``batch`` rows at a time."""
        while True:
            rows = self._fetch_after(after, batch)
            if not rows:
                return
            yield from self._decode_rows(rows)
            after = int(rows[-1][0])

    def _fetch_after(self, seq: int, limit: int) -> list[tuple[Any, ...]]:
        # The replay hot path: a plain DB-API cursor, no per-row result processing.
        with self.engine.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                cursor.execute(self._sql_after, (seq, limit))
                return list(cursor.fetchall())
            finally:
                cursor.close()

    def _decode_rows(self, rows: Sequence[tuple[Any, ...]]) -> list[StoredEvent]:
        decoded: list[StoredEvent] = []
        names = self._kind_names
        for seq, at_ms, kind_id, payload, site_id, schema_version, software_version in rows:
            kind = names.get(kind_id)
            if kind is None:
                with self.engine.connect() as connection:
                    kind = self._kind_name(connection, kind_id)
                names = self._kind_names
            event = self._decode(kind, at_ms, payload, schema_version, seq)
            if event is not None:
                decoded.append(StoredEvent(seq, event, site_id, schema_version, software_version))
        return decoded

    def _decode(self, kind: str, at_ms: int, payload: str, schema_version: int, seq: int) -> EventBase | None:
        cls = self._models.get(kind)
        if cls is None:
            if kind not in self._skipped_kinds:
                self._skipped_kinds.add(kind)
                LOGGER.warning("skipping events of unknown kind %r (written by a newer version?)", kind)
            return None
        try:
            if schema_version == cls.schema_version:
                # fast path: pydantic parses the JSON itself, with the time column spliced in
                body = payload[1:] if payload == "{}" else "," + payload[1:]
                return cls.model_validate_json(f'{{"at":{at_ms}{body}')
            data = upcast(kind, schema_version, cls.schema_version, json.loads(payload))
            data["at"] = from_millis(at_ms)
            return cls.model_validate(data)
        except (ValidationError, LookupError, ValueError) as err:
            LOGGER.error("event seq %s (%s) does not decode, skipped: %s", seq, kind, err)
            return None
