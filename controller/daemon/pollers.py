"""Device polling with coordinator semantics: an interval, back-off on failure, and one log line (and one
event) per outage and per recovery instead of an error every second."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from controller.clock import Clock
from controller.devices.errors import DeviceError
from controller.domain.events import EventBase, SourceRecovered, SourceStale

__all__ = ["SourcePoller"]

SLACK = 0.2

LOGGER = logging.getLogger(__name__)


class SourcePoller:
    """Polls one source (``meter`` or ``battery``) through ``read`` at ``interval_s``."""

    def __init__(
        self,
        name: str,
        read: Callable[[], Sequence[EventBase]],
        clock: Clock,
        *,
        interval_s: float,
        max_backoff_s: float = 60.0,
    ) -> None:
        self.name = name
        self._read = read
        self._clock = clock
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self._next_due = float("-inf")
        self._failures = 0
        self._outage_started: float | None = None
        self.last_error: str | None = None

    @property
    def in_outage(self) -> bool:
        return self._outage_started is not None

    def due(self) -> bool:
        return self._is_due(self._clock.monotonic())

    def _is_due(self, mono: float) -> bool:
        # a little slack: a poller with the tick's own interval must not skip a tick because of jitter
        return mono + SLACK * self.interval_s >= self._next_due

    def poll(self) -> list[EventBase]:
        """Read if due: readings, plus SourceStale when an outage starts, SourceRecovered when it ends."""
        mono = self._clock.monotonic()
        if not self._is_due(mono):
            return []
        try:
            events = list(self._read())
        except DeviceError as err:
            return self._failed(mono, err)
        self._next_due = mono + self.interval_s
        self._failures = 0
        if self._outage_started is None:
            return events
        outage_s = mono - self._outage_started
        self._outage_started = None
        self.last_error = None
        LOGGER.info("%s answers again after %.0f s", self.name, outage_s)
        return [SourceRecovered(at=self._clock.now(), source=self.name, outage_s=round(outage_s, 1)), *events]

    def _failed(self, mono: float, err: DeviceError) -> list[EventBase]:
        self._failures += 1
        backoff = min(self.max_backoff_s, self.interval_s * 2 ** min(self._failures - 1, 10))
        self._next_due = mono + backoff
        self.last_error = f"{err.__class__.__name__}: {err}"
        if self._outage_started is not None:
            LOGGER.debug("%s still unreachable (%s); next try in %.0f s", self.name, self.last_error, backoff)
            return []
        self._outage_started = mono
        LOGGER.warning("%s unreachable: %s (retrying with back-off, logged once)", self.name, self.last_error)
        return [SourceStale(at=self._clock.now(), source=self.name, detail=self.last_error)]
