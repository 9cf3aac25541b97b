"""SQLAlchemy 2.0 models of the whole schema (one metadata for every table, one Alembic history).

The events table is append-only: the API has no update or delete, and on SQLite triggers created by the
first migration refuse UPDATE and DELETE. Event times are stored as integer milliseconds since the Unix
epoch (UTC), which is compact on an SD card and sorts and indexes cheaply on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, MetaData, SmallInteger, String, Text, text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from storage.columns import (
    HIGH_VOLUME_MAX_KIND_ID,
    SEEDED_KINDS,
    from_micros,
    from_millis,
    to_micros,
    to_millis,
)

__all__ = [
    "HIGH_VOLUME_MAX_KIND_ID",
    "SEEDED_KINDS",
    "Base",
    "EventKindRow",
    "EventRow",
    "LogIdentityRow",
    "UTCMicros",
    "UTCMillis",
    "from_micros",
    "from_millis",
    "metadata",
    "to_micros",
    "to_millis",
]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCMicros(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT microseconds since the epoch (exact times, server tables)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))


class UTCMillis(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT milliseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_millis(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_millis(int(value))


class Base(DeclarativeBase):
    """Declarative base sharing :data:`metadata` (with its constraint naming convention)."""

    metadata = metadata


# SQLite makes an INTEGER PRIMARY KEY an alias of the rowid (no extra index); elsewhere it is a BIGINT.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class EventKindRow(Base):
    """The names of event kinds; each event row refers to its kind by this small id (saves bytes per row)."""

    __tablename__ = "event_kinds"

    id: Mapped[int] = mapped_column(
        SmallInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)


class EventRow(Base):
    """One event of the log: global ``seq``, time, kind, JSON payload, site, versions."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCMillis(), nullable=False)
    kind_id: Mapped[int] = mapped_column(SmallInteger, ForeignKey("event_kinds.id"), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    site_id: Mapped[str] = mapped_column(String(64), nullable=False)
    schema_version: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    software_version: Mapped[str] = mapped_column(String(32), nullable=False)

    __table_args__ = (
        Index("ix_events_at", "at"),
        # Readings and tick markers are the bulk of the log, never looked up by kind; the rest is indexed.
        Index(
            "ix_events_kind_seq",
            "kind_id",
            "seq",
            sqlite_where=text(f"kind_id > {HIGH_VOLUME_MAX_KIND_ID}"),
            postgresql_where=text(f"kind_id > {HIGH_VOLUME_MAX_KIND_ID}"),
        ),
    )


class LogIdentityRow(Base):
    """The identity of this event log: one row, created with the log (or on first open after an upgrade).

    ``first_seq`` is the first seq written under this identity (1 for a new log); events before it
    predate identities and belong to the site's legacy history on the server.
    """

    __tablename__ = "log_identity"

    log_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCMillis(), nullable=False)
