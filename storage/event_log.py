"""The append-only event log: the daemon's source of truth.

The API appends and reads, nothing else. Each append (one event or a batch) is one transaction, so a
control tick's events land together or not at all. Reading decodes each row into its pydantic event;
rows of kinds this version does not know are kept in the database and skipped on read (see
:meth:`EventLog.read_raw_after` to see them), and older payload shapes are upcast on the way out.

Rows name their kind by a small id from the ``event_kinds`` table (a 1-byte integer instead of a name
on every row); times are epoch milliseconds, in the ``at`` column and inside payloads.

A SQLite log (the daemon's) is read and written through :mod:`sqlite3` alone, in plain SQL: SQLAlchemy
(20 MB resident) is loaded only for a PostgreSQL log, for :attr:`EventLog.engine`, and for a migration.

Durability on SQLite (WAL): a transaction that holds anything but readings and tick markers (a command,
a state change, a schedule, ...) is committed with ``synchronous=FULL``: it is on the disk before the
append returns, so it survives a power cut, and a command reaches the battery only after that. A
transaction of readings and tick markers only is committed with ``synchronous=NORMAL`` (in the WAL, safe
from a crash of the process but not yet from a power cut) unless the last synced commit is
:data:`SYNC_EVERY_S` old; each synced commit (or :meth:`EventLog.sync`) makes everything before it durable
too. A power cut can so lose at most the last few seconds of readings, never a decision, and the
forwarder ships only what is durable (it calls :meth:`EventLog.sync` first).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from controller import __version__
from controller.clock import Clock, SystemClock
from controller.domain.events import COMPACT, EventBase, event_kinds
from controller.domain.upcasting import upcast
from storage.columns import HIGH_VOLUME_MAX_KIND_ID, SEEDED_KINDS, from_millis, to_millis

if TYPE_CHECKING:
    from sqlalchemy import Engine

__all__ = [
    "SYNC_EVERY_S",
    "EventLog",
    "EventLogError",
    "LogIdentity",
    "RawEvent",
    "StoredEvent",
    "decode_payload",
    "encode_payload",
]

LOGGER = logging.getLogger(__name__)

_COLUMNS = "seq, at, kind_id, payload, site_id, schema_version, software_version"
_INSERT = (
    "INSERT INTO events (at, kind_id, payload, site_id, schema_version, software_version) "
    "VALUES (?, ?, ?, ?, ?, ?)"
)
_INSERT_ROWS: dict[int, str] = {}  # row count -> one INSERT statement with that many rows
ONE_STATEMENT_ROWS: Final = 64
"""Appends of up to this many events of known kinds go in one statement (see ``_append_sqlite_rows``)."""
STREAM_BATCH = 1_000  # larger batches keep more objects alive and make the GC work harder
SYNC_EVERY_S: Final = 5.0
"""Readings-only transactions are made durable (``synchronous=FULL``) at least this often."""
_UNSYNCED_KINDS: Final = frozenset(SEEDED_KINDS.values())
BUSY_TIMEOUT_MS: Final = 5_000


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
    """A row as stored, undecoded (what the forwarder ships, unknown kinds included); ``payload_json`` is
    the stored JSON text, :attr:`payload` decodes it."""

    seq: int
    at: datetime
    kind: str
    payload_json: str
    site_id: str
    schema_version: int
    software_version: str

    @property
    def payload(self) -> dict[str, Any]:
        decoded: dict[str, Any] = json.loads(self.payload_json)
        return decoded


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


class _SqliteFile:
    """A SQLite file reached through :mod:`sqlite3`: pooled reading connections, WAL, a busy timeout."""

    dialect = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wal = True
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def connect(self) -> sqlite3.Connection:
        """A new connection in autocommit mode (transactions are explicit), set up like the engine's."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self.wal = str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower() == "wal"
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
        return connection

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        with self._lock:
            connection = self._idle.pop() if self._idle else None
        if connection is None:
            connection = self.connect()
        try:
            yield connection
        finally:
            with self._lock:
                self._idle.append(connection)

    def sql(self, text: str) -> str:
        return text

    def close(self) -> None:
        with self._lock:
            for connection in self._idle:
                connection.close()
            self._idle.clear()


class _EngineDatabase:
    """A database behind a SQLAlchemy engine (PostgreSQL), through the engine's pooled DB-API connections."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.errors: tuple[type[Exception], ...] = (engine.dialect.loaded_dbapi.Error,)
        self._mark = "?" if engine.dialect.paramstyle in ("qmark", "numeric") else "%s"

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        connection = self.engine.raw_connection()
        try:
            yield connection
        finally:
            with contextlib.suppress(*self.errors):
                connection.rollback()
            connection.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Any]:
        connection = self.engine.raw_connection()
        try:
            yield connection
            connection.commit()
        except BaseException:
            with contextlib.suppress(*self.errors):
                connection.rollback()
            raise
        finally:
            connection.close()

    def sql(self, text: str) -> str:
        return text if self._mark == "?" else text.replace("?", self._mark)

    def close(self) -> None:
        self.engine.dispose()


class EventLog:
    """Append and read events of one site in a SQLite or PostgreSQL database."""

    def __init__(
        self, database: Engine | Path | str, site_id: str, software_version: str = __version__
    ) -> None:
        """``database``: the path of a SQLite file, or an engine (a SQLite file's, or PostgreSQL's)."""
        self.site_id = site_id
        self.software_version = software_version
        self._engine: Engine | None = None
        self._db: _SqliteFile | _EngineDatabase
        if isinstance(database, (str, Path)):
            self._db = _SqliteFile(Path(database))
        elif database.dialect.name == "sqlite" and database.url.database not in (None, "", ":memory:"):
            self._engine = database
            self._db = _SqliteFile(Path(database.url.database))
        else:
            self._engine = database
            self._db = _EngineDatabase(database)
        self._failures: tuple[type[Exception], ...] = (*self._db.errors, ValueError)
        self._models = event_kinds()
        self._kind_ids: dict[str, int] = {}
        self._kind_names: dict[int, str] = {}
        self._skipped_kinds: set[str] = set()
        self._writer: sqlite3.Connection | None = None  # SQLite: the one connection appends go through
        self._writer_lock = threading.Lock()
        self._synchronous = "FULL"
        self._monotonic = SystemClock().monotonic  # real seconds: how old the unsynced commits are
        self._synced_at = float("-inf")
        self._unsynced = False
        self._identity: LogIdentity | None = None

    @classmethod
    def open(cls, url: str, site_id: str, *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the database at ``url``; a new log gets its identity here."""
        if url.startswith(("sqlite:///", "sqlite+pysqlite:///")) and not url.endswith(":memory:"):
            return cls.open_sqlite(url.split(":///", 1)[1], site_id, migrate=migrate)
        from storage.database import create_db_engine
        from storage.migrate import upgrade

        engine = create_db_engine(url)
        log = cls(engine, site_id)
        if migrate:
            upgrade(engine)
            log.identity()  # created with the log, before its first event
        return log

    @classmethod
    def open_sqlite(cls, path: Path | str, site_id: str = "home", *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the SQLite file at ``path``, without loading SQLAlchemy unless
        a migration is due (see :func:`storage.migrate.upgrade_sqlite`)."""
        if migrate:
            from storage.migrate import upgrade_sqlite

            upgrade_sqlite(path)
        log = cls(Path(path), site_id)
        if migrate:
            log.identity()  # created with the log, before its first event
        return log

    @property
    def engine(self) -> Engine:
        """A SQLAlchemy engine on the log's database (made on first use, for tools and tests)."""
        if self._engine is None:
            from storage.database import create_db_engine, sqlite_url

            assert isinstance(self._db, _SqliteFile)
            self._engine = create_db_engine(sqlite_url(self._db.path))
        return self._engine

    def close(self) -> None:
        """Release the database connections."""
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self._db.close()
        if self._engine is not None:
            self._engine.dispose()

    # -- plumbing --------------------------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (``?`` placeholders)."""
        with self._db.reading() as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(self._db.sql(sql), tuple(params))
                return [tuple(row) for row in cursor.fetchall()]
            finally:
                cursor.close()

    def _append_sqlite_rows(self, values: list[tuple[Any, ...]], *, sync: bool) -> int:
        """Insert ``values`` (kinds known) with one statement, its own transaction (SQLite holds the write
        lock for the whole statement, so the rowids are consecutive); returns the last new seq. One
        statement instead of ``BEGIN``, insert, ``last_insert_rowid()`` and ``COMMIT``: a control tick's
        append runs this path, synced per ``sync`` like :meth:`_transaction`."""
        db = self._db
        assert isinstance(db, _SqliteFile)
        sql = _INSERT_ROWS.get(len(values))
        if sql is None:
            sql = _INSERT_ROWS[len(values)] = _INSERT + ", (?, ?, ?, ?, ?, ?)" * (len(values) - 1)
        with self._writer_lock:
            writer = self._sqlite_writer(db, sync=sync)
            cursor = writer.execute(sql, [field for row in values for field in row])
            last = cursor.lastrowid
            cursor.close()
            self._committed()
        if last is None:  # pragma: no cover - an INSERT always sets it
            raise sqlite3.DatabaseError("no rowid after the insert")
        return int(last)

    @contextlib.contextmanager
    def _transaction(self, *, sync: bool = True) -> Iterator[Any]:
        """A write transaction yielding a cursor. SQLite: the kept writer connection under its lock,
        ``BEGIN IMMEDIATE`` (the write lock, so new rowids are consecutive), synced per ``sync``."""
        db = self._db
        if isinstance(db, _EngineDatabase):
            with db.transaction() as connection:
                cursor = connection.cursor()
                try:
                    yield cursor
                finally:
                    cursor.close()
            return
        with self._writer_lock:
            writer = self._sqlite_writer(db, sync=sync)
            writer.execute("BEGIN IMMEDIATE")
            cursor = writer.cursor()
            try:
                yield cursor
                writer.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    writer.execute("ROLLBACK")
                raise
            finally:
                cursor.close()
            self._committed()

    def _sqlite_writer(self, db: _SqliteFile, *, sync: bool) -> sqlite3.Connection:
        """The kept writer connection (opened on first use), its ``synchronous`` mode set for the next
        commit: ``FULL`` when ``sync`` (or without WAL), else ``NORMAL``. Call under the writer lock."""
        if self._writer is None:
            self._writer = db.connect()
            self._synchronous = "FULL"
        mode = "FULL" if sync or not db.wal else "NORMAL"
        if mode != self._synchronous:
            self._writer.execute(f"PRAGMA synchronous = {mode}")
            self._synchronous = mode
        return self._writer

    def _committed(self) -> None:
        """Note a commit made in the current ``synchronous`` mode: durable at once (``FULL``) or waiting in
        the WAL for :meth:`sync`. Call under the writer lock."""
        if self._synchronous == "FULL":
            self._synced_at = self._monotonic()
            self._unsynced = False
        else:
            self._unsynced = True

    @property
    def unsynced(self) -> bool:
        """Whether committed events wait in the WAL for a sync (a power cut could still take them back)."""
        return self._unsynced

    def sync(self) -> None:
        """Make every committed event durable (a power cut cannot lose it); cheap when they are already."""
        db = self._db
        if not isinstance(db, _SqliteFile):
            return
        with self._writer_lock:
            if not self._unsynced:
                return
            with contextlib.suppress(FileNotFoundError):  # no WAL: nothing waits in it
                fd = os.open(f"{db.path}-wal", os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self._synced_at = self._monotonic()
            self._unsynced = False

    # -- identity --------------------------------------------------------------------------------------

    def identity(self, clock: Clock | None = None) -> LogIdentity:
        """The log's identity, created on first use (a new log: first seq 1; an older log: after its last)."""
        if self._identity is not None:
            return self._identity
        with self._transaction() as cursor:
            cursor.execute("SELECT log_id, first_seq FROM log_identity")
            row = cursor.fetchone()
            if row is None:
                cursor.execute("SELECT max(seq) FROM events")
                last = cursor.fetchone()[0]
                log_id, first_seq = uuid.uuid4().hex, int(last or 0) + 1
                cursor.execute(
                    self._db.sql("INSERT INTO log_identity (log_id, first_seq, created_at) VALUES (?, ?, ?)"),
                    (log_id, first_seq, to_millis((clock or SystemClock()).now())),
                )
                LOGGER.info("event log identity %s created (first seq %d)", log_id, first_seq)
            else:
                log_id, first_seq = str(row[0]), int(row[1])
        self._identity = LogIdentity(log_id, first_seq)
        return self._identity

    # -- kinds -----------------------------------------------------------------------------------------

    def _load_kinds(self) -> None:
        for kind_id, name in self._query("SELECT id, name FROM event_kinds"):
            self._kind_ids[name] = int(kind_id)
            self._kind_names[int(kind_id)] = name

    def _ensure_kinds(self, cursor: Any, names: set[str]) -> dict[str, int]:
        """Ids of ``names``, registering new kinds inside the caller's transaction."""
        missing = names - self._kind_ids.keys()
        if not missing:
            return self._kind_ids
        ids = dict(self._kind_ids)
        for name in sorted(missing):
            cursor.execute(
                self._db.sql("INSERT INTO event_kinds (name) VALUES (?) ON CONFLICT DO NOTHING"), (name,)
            )
            cursor.execute(self._db.sql("SELECT id FROM event_kinds WHERE name = ?"), (name,))
            ids[name] = int(cursor.fetchone()[0])
        return ids

    def _kind_name(self, kind_id: int) -> str:
        name = self._kind_names.get(kind_id)
        if name is None:
            self._load_kinds()
            name = self._kind_names.get(kind_id, f"unknown#{kind_id}")
        return name

    # -- writing ---------------------------------------------------------------------------------------

    def append(self, event: EventBase) -> int:
        """Append one event in its own transaction; returns its ``seq``."""
        return self.append_many([event])[0]

    def append_many(self, events: Sequence[EventBase]) -> list[int]:
        """Append ``events`` in one transaction (all or nothing); returns their ``seq`` values in order.

        On SQLite the transaction is synced to the disk unless it holds readings and tick markers only
        and the last synced one is less than :data:`SYNC_EVERY_S` old (see the module's docstring).
        """
        if not events:
            return []
        for event in events:
            if not isinstance(event, EventBase):
                raise EventLogError(f"not an event: {event!r}")
            if event.kind not in self._models:
                raise EventLogError(f"unknown event kind {event.kind!r}")
        try:
            rows = [
                (to_millis(event.at), event.kind, encode_payload(event), type(event).schema_version)
                for event in events
            ]
        except ValueError as err:
            raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
        sync = (
            any(event.kind not in _UNSYNCED_KINDS for event in events)
            or self._monotonic() - self._synced_at >= SYNC_EVERY_S
        )
        site, version = self.site_id, self.software_version
        known = self._kind_ids
        if (
            isinstance(self._db, _SqliteFile)
            and len(rows) <= ONE_STATEMENT_ROWS
            and all(kind in known for _, kind, _, _ in rows)
        ):
            values = [(at, known[kind], payload, site, schema, version) for at, kind, payload, schema in rows]
            try:
                last = self._append_sqlite_rows(values, sync=sync)
            except self._failures as err:
                raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
            return list(range(last - len(values) + 1, last + 1))
        try:
            with self._transaction(sync=sync) as cursor:
                kind_ids = self._ensure_kinds(cursor, {event.kind for event in events})
                values = [
                    (at, kind_ids[kind], payload, site, schema, version) for at, kind, payload, schema in rows
                ]
                if isinstance(self._db, _SqliteFile):
                    cursor.executemany(_INSERT, values)
                    cursor.execute("SELECT last_insert_rowid()")
                    last = int(cursor.fetchone()[0])
                    seqs = list(range(last - len(values) + 1, last + 1))
                else:
                    insert = self._db.sql(_INSERT + " RETURNING seq")
                    seqs = []
                    for value in values:
                        cursor.execute(insert, value)
                        seqs.append(int(cursor.fetchone()[0]))
        except self._failures as err:
            raise EventLogError(f"append of {len(events)} event(s) failed: {err}") from err
        if kind_ids is not self._kind_ids:  # committed: the new kinds exist now
            self._kind_ids = kind_ids
            self._kind_names = {kind_id: name for name, kind_id in kind_ids.items()}
        return seqs

    # -- reading ---------------------------------------------------------------------------------------

    def last_seq(self) -> int:
        """The highest ``seq`` in the log (0 when empty)."""
        return int(self._query("SELECT max(seq) FROM events")[0][0] or 0)

    def count(self) -> int:
        """Number of rows in the log (all kinds)."""
        return int(self._query("SELECT count(*) FROM events")[0][0] or 0)

    def read_after(self, seq: int, limit: int = 1000) -> list[StoredEvent]:
        """Known events with ``seq`` greater than ``seq``, in order; at most ``limit`` rows are scanned."""
        return self._decode_rows(self._fetch_after(seq, limit))

    def read_raw_after(self, seq: int, limit: int = 1000) -> list[RawEvent]:
        """Rows with ``seq`` greater than ``seq`` as stored (unknown kinds included), in order."""
        return [
            RawEvent(int(r[0]), from_millis(r[1]), self._kind_name(r[2]), r[3], r[4], int(r[5]), r[6])
            for r in self._fetch_after(seq, limit)
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
        where = "at >= ? AND at < ?"
        params: list[Any] = [to_millis(start), to_millis(end)]
        if kinds is not None:
            self._load_kinds()
            ids = [self._kind_ids[k] for k in kinds if k in self._kind_ids]
            where += f" AND kind_id IN ({', '.join('?' * len(ids))})" if ids else " AND 1 = 0"
            params += ids
        return self._stream(where, params)

    def _stream(self, where: str, params: list[Any]) -> Iterator[StoredEvent]:
        """Keyset-paged scan of the rows matching ``where``, decoded batch by batch."""
        sql = f"SELECT {_COLUMNS} FROM events WHERE seq > ? AND {where} ORDER BY seq LIMIT ?"
        after = 0
        while True:
            rows = self._query(sql, [after, *params, STREAM_BATCH])
            if not rows:
                return
            yield from self._decode_rows(rows)
            after = int(rows[-1][0])

    def last_of_kind(self, kind: str) -> StoredEvent | None:
        """The newest event of ``kind`` (``None`` when there is none)."""
        self._load_kinds()
        kind_id = self._kind_ids.get(kind)
        if kind_id is None:
            return None
        # the second condition lets the planner use the partial kind index (true for non-reading kinds)
        hint = ">" if kind_id > HIGH_VOLUME_MAX_KIND_ID else "<="
        rows = self._query(
            f"SELECT seq FROM events WHERE kind_id = ? AND kind_id {hint} {HIGH_VOLUME_MAX_KIND_ID} "
            "ORDER BY seq DESC LIMIT 1",
            [kind_id],
        )
        if not rows:
            return None
        found = self.read_after(int(rows[0][0]) - 1, limit=1)
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
        return self._query(f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY seq LIMIT ?", [seq, limit])

    def _decode_rows(self, rows: Sequence[tuple[Any, ...]]) -> list[StoredEvent]:
        decoded: list[StoredEvent] = []
        names = self._kind_names
        for seq, at_ms, kind_id, payload, site_id, schema_version, software_version in rows:
            kind = names.get(kind_id)
            if kind is None:
                kind = self._kind_name(kind_id)
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
