"""The one source of time for every component.

Nothing outside this module reads the wall clock (a test enforces it). Production code gets a
:class:`SystemClock`; tests and simulations get a :class:`ManualClock` that only moves when told to.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

__all__ = ["Clock", "ManualClock", "ScaledClock", "SystemClock", "utc"]


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime (naive values are taken to be UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class Clock(Protocol):
    """A source of aware UTC time, a monotonic reading and a way to wait."""

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards (for intervals and latencies)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a virtual clock just advances)."""
        ...


class SystemClock:
    """The real clock of the machine."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class ManualClock:
    """A virtual clock for tests and simulation: time moves only by :meth:`advance` or :meth:`sleep`."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = utc(start) if start is not None else datetime(2026, 1, 1, tzinfo=UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    def advance(self, seconds: float) -> datetime:
        """Move time forward by ``seconds`` and return the new time."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += timedelta(seconds=seconds)
        self._mono += seconds
        return self._now

    def set(self, value: datetime) -> None:
        """Jump to ``value`` (not earlier than now)."""
        target = utc(value)
        delta = (target - self._now).total_seconds()
        self.advance(delta)


class ScaledClock:
    """Accelerated wall time: ``now = start + (wall elapsed since anchor) x speed``.

    Processes given the same ``start``, ``anchor_wall`` (a Unix time) and ``speed`` agree on the time, so
    a daemon and the device simulators can run a demo or an end-to-end test faster than real time.
    """

    def __init__(self, start: datetime, speed: float, anchor_wall: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.start = utc(start)
        self.speed = speed
        self.anchor_wall = time.time() if anchor_wall is None else anchor_wall
        self._anchor_mono = time.monotonic() - (time.time() - self.anchor_wall)

    def now(self) -> datetime:
        return self.start + timedelta(seconds=(time.time() - self.anchor_wall) * self.speed)

    def monotonic(self) -> float:
        return (time.monotonic() - self._anchor_mono) * self.speed

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed)
