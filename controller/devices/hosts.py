"""Where a device lives: a fixed address, or one found by discovery and re-found when it stops answering."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from controller.clock import Clock
from controller.devices.errors import DeviceUnreachable

__all__ = ["AddressBook", "AutoHost", "HostResolver", "StaticHost", "as_resolver"]

LOGGER = logging.getLogger(__name__)


class HostResolver(Protocol):
    """Gives the current address of one device and learns whether requests to it worked."""

    def address(self) -> tuple[str, int]:
        """``(host, port)`` to use now; :class:`DeviceUnreachable` when none is known."""
        ...

    def succeeded(self) -> None:
        """The last request to :meth:`address` worked."""
        ...

    def failed(self) -> None:
        """The last request to :meth:`address` found nobody there."""
        ...


class StaticHost:
    """A configured IP or host name (never changes)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def succeeded(self) -> None:
        return None

    def failed(self) -> None:
        return None


def as_resolver(endpoint: HostResolver | str, default_port: int) -> HostResolver:
    """``"host"``, ``"host:port"``, ``"[v6]:port"`` or a resolver → a resolver."""
    if not isinstance(endpoint, str):
        return endpoint
    text = endpoint.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return StaticHost(host, int(rest[1:]) if rest.startswith(":") else default_port)
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        return StaticHost(host, int(port))
    return StaticHost(text, default_port)


class AddressBook:
    """Remembers the last good address per device key in a small JSON file (or only in memory)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, int]] = {}
        if path is not None and path.is_file():
            try:
                raw = json.loads(path.read_text())
                self._entries = {str(k): (str(v[0]), int(v[1])) for k, v in raw.items()}
            except (OSError, ValueError, TypeError, IndexError, KeyError) as err:
                LOGGER.warning("ignoring unreadable address book %s: %s", path, err)

    def get(self, key: str) -> tuple[str, int] | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: str, address: tuple[str, int]) -> None:
        with self._lock:
            if self._entries.get(key) == address:
                return
            self._entries[key] = address
            if self._path is not None:
                try:
                    text = json.dumps({k: list(v) for k, v in self._entries.items()}, indent=1)
                    self._path.write_text(text)
                except OSError as err:
                    LOGGER.warning("cannot save address book %s: %s", self._path, err)


class AutoHost:
    """``host = "auto"``: the address comes from discovery; the last good one is remembered.

    ``discover`` returns the address of the wanted device (or ``None``). After ``failures_before_rediscover``
    failed requests in a row, the next :meth:`address` runs discovery again (at most once per
    ``min_rediscover_interval_s``).
    """

    def __init__(
        self,
        key: str,
        discover: Callable[[], tuple[str, int] | None],
        clock: Clock,
        *,
        book: AddressBook | None = None,
        failures_before_rediscover: int = 3,
        min_rediscover_interval_s: float = 60.0,
    ) -> None:
        self.key = key
        self._discover = discover
        self._clock = clock
        self._book = book or AddressBook()
        self._failures = 0
        self._threshold = max(1, failures_before_rediscover)
        self._min_interval = min_rediscover_interval_s
        self._last_discovery: float | None = None
        self._current = self._book.get(key)

    def _run_discovery(self) -> None:
        self._last_discovery = self._clock.monotonic()
        found = self._discover()
        if found is None:
            LOGGER.warning("discovery found no %s", self.key)
            return
        if found != self._current:
            LOGGER.info("%s found at %s:%d", self.key, *found)
        self._current = found
        self._failures = 0

    def address(self) -> tuple[str, int]:
        due = self._last_discovery is None or (
            self._clock.monotonic() - self._last_discovery >= self._min_interval
        )
        if self._current is None or (self._failures >= self._threshold and due):
            self._run_discovery()
        if self._current is None:
            raise DeviceUnreachable(f"no address known for {self.key} (discovery found nothing)")
        return self._current

    def succeeded(self) -> None:
        self._failures = 0
        if self._current is not None:
            self._book.put(self.key, self._current)

    def failed(self) -> None:
        self._failures += 1
