"""The append-only event log: the daemon's source of truth.

The API appends and reads, nothing else. Each append (one event or a batch) is one transaction, so a
control tick's events land together or not at all. Reading decodes each row into its pydantic event;
rows of kinds this version does not know are kept in the database and skipped on read (see
:meth:`EventLog.read_raw_after` to see them), and older payload shapes are upcast on the way out.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from controller import __version__
from controller.domain.events import EventBase, event_kinds
from controller.domain.upcasting import upcast
from storage.database import create_db_engine, sqlite_url
from storage.migrate import upgrade
from storage.schema import EventRow

__all__ = ["EventLog", "EventLogError", "RawEvent", "StoredEvent"]

LOGGER = logging.getLogger(__name__)

_TABLE = EventRow.__table__
_COLUMNS = (
    _TABLE.c.seq,
    _TABLE.c.at,
    _TABLE.c.kind,
    _TABLE.c.payload,
    _TABLE.c.site_id,
    _TABLE.c.schema_version,
    _TABLE.c.software_version,
)
STREAM_BATCH = 5_000


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


def encode_payload(event: EventBase) -> str:
    """Compact JSON of an event without its ``kind`` and ``at`` (they have their own columns)."""
    return event.model_dump_json(exclude={"kind", "at"}, exclude_none=True)


class EventLog:
    """Append and read events of one site in a SQLite or PostgreSQL database."""

    def __init__(self, engine: Engine, site_id: str, software_version: str = __version__) -> None:
        self.engine = engine
        self.site_id = site_id
        self.software_version = software_version
        self._kinds = event_kinds()
        self._skipped_kinds: set[str] = set()

    @classmethod
    def open(cls, url: str, site_id: str, *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the database at ``url``."""
        engine = create_db_engine(url)
        if migrate:
            upgrade(engine)
        return cls(engine, site_id)

    @classmethod
    def open_sqlite(cls, path: Path | str, site_id: str = "home", *, migrate: bool = True) -> EventLog:
        """Open (and by default migrate) the SQLite file at ``path``."""
        return cls.open(sqlite_url(path), site_id, migrate=migrate)

    def close(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    # -- writing ---------------------------------------------------------------------------------------

    def _row(self, event: EventBase) -> dict[str, Any]:
        if not isinstance(event, EventBase):
            raise EventLogError(f"not an event: {event!r}")
        if event.kind not in self._kinds:
            raise EventLogError(f"unknown event kind {event.kind!r}")
        return {
            "at": event.at,
            "kind": event.kind,
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
        rows = [self._row(event) for event in events]
        statement = insert(_TABLE).returning(_TABLE.c.seq, sort_by_parameter_order=True)
        try:
            with self.engine.begin() as connection:
                result = connection.execute(statement, rows)
                return [int(seq) for seq in result.scalars().all()]
        except SQLAlchemyError as err:
            raise EventLogError(f"append of {len(rows)} event(s) failed: {err}") from err

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
        statement = select(*_COLUMNS).where(_TABLE.c.seq > seq).order_by(_TABLE.c.seq).limit(limit)
        return self._decode_rows(self._fetch(statement))

    def read_raw_after(self, seq: int, limit: int = 1000) -> list[RawEvent]:
        """Rows with ``seq`` greater than ``seq`` as stored (unknown kinds included), in order."""
        statement = select(*_COLUMNS).where(_TABLE.c.seq > seq).order_by(_TABLE.c.seq).limit(limit)
        return [
            RawEvent(int(r[0]), r[1], r[2], json.loads(r[3]), r[4], int(r[5]), r[6])
            for r in self._fetch(statement)
        ]

    def read_range(self, start: datetime, end: datetime, kinds: Iterable[str] | None = None) -> list[StoredEvent]:
        """Known events with ``start <= at < end`` (optionally only ``kinds``), ordered by ``seq``."""
        return list(self.iter_range(start, end, kinds))

    def iter_range(
        self, start: datetime, end: datetime, kinds: Iterable[str] | None = None
    ) -> Iterator[StoredEvent]:
        """Stream the events with ``start <= at < end`` in ``seq`` order, in constant memory."""
        kind_list = list(kinds) if kinds is not None else None
        after = 0
        while True:
            statement = (
                select(*_COLUMNS)
                .where(_TABLE.c.seq > after, _TABLE.c.at >= start, _TABLE.c.at < end)
                .order_by(_TABLE.c.seq)
                .limit(STREAM_BATCH)
            )
            if kind_list is not None:
                statement = statement.where(_TABLE.c.kind.in_(kind_list))
            rows = self._fetch(statement)
            if not rows:
                return
            yield from self._decode_rows(rows)
            after = int(rows[-1][0])

    def iter_events(self, after: int = 0, batch: int = STREAM_BATCH) -> Iterator[StoredEvent]:
        """Stream every known event after ``after`` in ``seq`` order, ``batch`` rows at a time."""
        while True:
            statement = select(*_COLUMNS).where(_TABLE.c.seq > after).order_by(_TABLE.c.seq).limit(batch)
            rows = self._fetch(statement)
            if not rows:
                return
            yield from self._decode_rows(rows)
            after = int(rows[-1][0])

    def _fetch(self, statement: Any) -> list[Any]:
        with self.engine.connect() as connection:
            return list(connection.execute(statement).all())

    def _decode_rows(self, rows: Sequence[Any]) -> list[StoredEvent]:
        decoded: list[StoredEvent] = []
        for seq, at, kind, payload, site_id, schema_version, software_version in rows:
            event = self._decode(kind, at, payload, schema_version, seq)
            if event is not None:
                decoded.append(StoredEvent(int(seq), event, site_id, int(schema_version), software_version))
        return decoded

    def _decode(self, kind: str, at: datetime, payload: str, schema_version: int, seq: int) -> EventBase | None:
        cls = self._kinds.get(kind)
        if cls is None:
            if kind not in self._skipped_kinds:
                self._skipped_kinds.add(kind)
                LOGGER.warning("skipping events of unknown kind %r (written by a newer version?)", kind)
            return None
        data = json.loads(payload)
        if schema_version != cls.schema_version:
            data = upcast(kind, schema_version, cls.schema_version, data)
        data["at"] = at
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            LOGGER.error("event seq %s (%s) does not decode, skipped: %s", seq, kind, err)
            return None
