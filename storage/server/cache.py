"""A small time-to-live cache for hot reads (token -> site, site -> current schedule)."""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from controller.clock import Clock

__all__ = ["TTLCache"]

K = TypeVar("K")
V = TypeVar("V")


class TTLCache(Generic[K, V]):
    """Entries live ``ttl_s`` seconds (on the clock's monotonic time); at most ``max_entries`` are kept."""

    def __init__(self, clock: Clock, ttl_s: float, max_entries: int = 10_000) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._max = max_entries
        self._data: dict[K, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] < self._clock.monotonic():
            self._data.pop(key, None)
            return None
        return entry[1]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = (self._clock.monotonic() + self._ttl_s, value)

    def discard(self, key: K) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()
