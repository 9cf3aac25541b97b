"""SQLAlchemy 2.0 models of the whole schema (one metadata for every table, one Alembic history).

The events table is append-only: the API has no update or delete, and on SQLite triggers created by the
first migration refuse UPDATE and DELETE. Times are stored as integer microseconds since the Unix epoch
(UTC), which is compact on an SD card and sorts and indexes cheaply on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, MetaData, SmallInteger, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = ["Base", "EventRow", "UTCMicros", "from_micros", "metadata", "to_micros"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (naive values are refused)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: zsm stores only aware UTC times")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=value)


class UTCMicros(TypeDecorator[datetime]):
    """An aware UTC datetime stored as BIGINT microseconds since the epoch."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> int | None:
        return None if value is None else to_micros(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else from_micros(int(value))


class Base(DeclarativeBase):
    """Declarative base sharing :data:`metadata` (with its constraint naming convention)."""

    metadata = metadata


# SQLite makes an INTEGER PRIMARY KEY an alias of the rowid (no extra index); elsewhere it is a BIGINT.
SeqType = BigInteger().with_variant(Integer(), "sqlite")


class EventRow(Base):
    """One event of the log: global ``seq``, time, kind, JSON payload, site, versions."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    site_id: Mapped[str] = mapped_column(String(64), nullable=False)
    schema_version: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    software_version: Mapped[str] = mapped_column(String(32), nullable=False)

    __table_args__ = (Index("ix_events_at", "at"),)
