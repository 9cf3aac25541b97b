"""Reading instants from price answers: ISO 8601 with an offset (``Z`` included), or epoch milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["from_epoch_ms", "parse_instant"]

_MAX_TEXT = 40


def parse_instant(text: object) -> datetime:
    """An aware UTC datetime from ISO 8601 text that carries an offset; naive text is refused."""
    if not isinstance(text, str) or len(text) > _MAX_TEXT:
        raise ValueError(f"not a timestamp: {str(text)[:_MAX_TEXT]!r}")
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no offset")
    return value.astimezone(UTC)


def from_epoch_ms(value: object) -> datetime:
    """An aware UTC datetime from epoch milliseconds."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"not epoch milliseconds: {value!r}")
    return datetime.fromtimestamp(value / 1000, tz=UTC)
