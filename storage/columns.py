"""Column encodings and fixed kind ids shared by the SQLAlchemy schema and the plain-SQL event log.

No SQLAlchemy here: the daemon's event log reads and writes SQLite through :mod:`sqlite3` alone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

__all__ = [
    "HIGH_VOLUME_MAX_KIND_ID",
    "SEEDED_KINDS",
    "from_micros",
    "from_millis",
    "to_micros",
    "to_millis",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

#: Kind ids fixed by the first migration: the high-volume kinds (readings, tick markers), not kind-indexed.
SEEDED_KINDS = {1: "meter_reading", 2: "battery_reading", 3: "ticked"}
HIGH_VOLUME_MAX_KIND_ID = 3


def to_millis(value: datetime) -> int:
    """Aware datetime -> integer milliseconds since the epoch, rounded (naive values are refused)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: zsm stores only aware UTC times")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000 + round(delta.microseconds / 1000)


def from_millis(value: int) -> datetime:
    """Integer milliseconds since the epoch -> aware UTC datetime."""
    return _EPOCH + timedelta(milliseconds=value)


def to_micros(value: datetime) -> int:
    """Aware datetime -> integer microseconds since the epoch (naive values are refused)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: zsm stores only aware UTC times")
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """Integer microseconds since the epoch -> aware UTC datetime."""
    return _EPOCH + timedelta(microseconds=value)
