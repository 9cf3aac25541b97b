"""Server I/O off the control loop: schedule fetches (call 5), event forwarding (call 4), status posts
(call 6). A slow or absent server never delays a control tick: results come back through a bounded queue
that the loop drains once per tick."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Final

from controller.clock import Clock
from controller.daemon.forwarder import Forwarder
from controller.daemon.schedule_source import ScheduleSource, check_schedule
from controller.daemon.server_client import ServerClient, ServerError, ServerRejected, StatusReport
from controller.domain.events import EventBase, ScheduleLoaded, ScheduleRejected, SourceRecovered, SourceStale
from controller.settings import LimitSettings

__all__ = ["ServerWorker"]

LOGGER = logging.getLogger(__name__)

OUTBOX_SIZE: Final = 64
BATCHES_PER_ROUND: Final = 20
FINAL_BATCHES: Final = 200  # on stop: ship up to this many batches, the rest goes at the next start
IDLE_WAIT_S: Final = 1.0


def _take_events(source: object) -> list[EventBase]:
    """Events a schedule source kept for the log (its ``events`` list, emptied), if it keeps any."""
    kept = getattr(source, "events", None)
    if not isinstance(kept, list):
        return []
    taken = [event for event in kept if isinstance(event, EventBase)]
    kept.clear()
    return taken


class ServerWorker:
    """A background thread doing every server exchange on its own schedule."""

    def __init__(
        self,
        *,
        clock: Clock,
        limits: LimitSettings,
        schedule_source: ScheduleSource | None,
        schedule_interval_s: float,
        forwarder: Forwarder | None,
        client: ServerClient | None,
        status_interval_s: float,
        status: Callable[[], StatusReport],
        schedule_etag: str | None = None,
        forward_interval_s: float = 5.0,
    ) -> None:
        self._clock = clock
        self._limits = limits
        self._source = schedule_source
        self._schedule_interval_s = schedule_interval_s
        self._forwarder = forwarder
        self._client = client
        self._status_interval_s = status_interval_s
        self._status = status
        self.schedule_etag = schedule_etag
        self.outbox: queue.Queue[EventBase] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zsm-server-io", daemon=True)
        self._next_schedule = float("-inf")
        self._next_status = float("-inf")
        self._forward_interval_s = forward_interval_s
        self._next_forward = float("-inf")
        self._down_since: float | None = None
        self._backoff_until = float("-inf")
        self._failures = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the exchange in progress; one last forward and status are attempted."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def wake(self) -> None:
        """Ask for a round now (e.g. after the loop appended events)."""
        self._wake.set()

    def drain(self) -> list[EventBase]:
        """Events produced since the last call (schedule loaded/rejected, server stale/recovered)."""
        events: list[EventBase] = []
        while True:
            try:
                events.append(self.outbox.get_nowait())
            except queue.Empty:
                return events

    def _emit(self, event: EventBase) -> None:
        try:
            self.outbox.put_nowait(event)
        except queue.Full:
            LOGGER.error("server outbox full; dropping %s", event.kind)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_round()
            self._wake.wait(IDLE_WAIT_S)
            self._wake.clear()
        self.run_round(final=True)

    def run_round(self, final: bool = False) -> None:
        """One pass over the due exchanges (public so tests can drive the worker without a thread)."""
        mono = self._clock.monotonic()
        if mono < self._backoff_until and not final:
            return
        try:
            if self._source is not None and (mono >= self._next_schedule) and not final:
                self._fetch_schedule()
                self._next_schedule = mono + self._schedule_interval_s
            if self._forwarder is not None and (mono >= self._next_forward or final):
                self._next_forward = mono + self._forward_interval_s
                if final:  # record first, so that the cursor event itself is shipped too
                    self._forwarder.record_cursor(self._clock.now(), force=True)
                for _ in range(BATCHES_PER_ROUND if not final else FINAL_BATCHES):
                    if self._forwarder.forward_once() < self._forwarder.batch:
                        break
                else:
                    self._next_forward = mono  # a backlog: carry on in the next round
                if not final:
                    self._forwarder.record_cursor(self._clock.now())
            if self._client is not None and (mono >= self._next_status or final):
                self._client.post_status(self._status())
                self._next_status = mono + self._status_interval_s
        except ServerRejected as err:
            LOGGER.error("server refused a request: %s", err)
            self._failed(mono, err)
        except ServerError as err:
            self._failed(mono, err)
        else:
            self._recovered(mono)

    def _fetch_schedule(self) -> None:
        assert self._source is not None
        fetched = self._source.fetch(self.schedule_etag)
        for event in _take_events(self._source):  # e.g. prices_received from a planning source
            self._emit(event)
        if fetched.body is None and fetched.error is None:
            return
        errors = [fetched.error] if fetched.error else check_schedule(fetched.body or {}, self._limits)
        now = self._clock.now()
        if errors:
            LOGGER.error(
                "schedule from %s rejected; keeping the last good one: %s", self._source.name, errors
            )
            self._emit(ScheduleRejected(at=now, source=self._source.name, errors=errors[:50]))
        else:
            LOGGER.info("schedule from %s loaded (version %s)", self._source.name, fetched.version)
            self._emit(
                ScheduleLoaded(
                    at=now,
                    source=self._source.name,
                    schedule=fetched.body or {},
                    etag=fetched.etag,
                    version=fetched.version,
                )
            )
        self.schedule_etag = fetched.etag  # a rejected document is not fetched again until it changes

    def _failed(self, mono: float, err: ServerError) -> None:
        self._failures += 1
        self._backoff_until = mono + min(300.0, 2.0 * 2 ** min(self._failures, 8))
        if self._down_since is None:
            self._down_since = mono
            LOGGER.warning("server unavailable: %s (controlling on the cached schedule; logged once)", err)
            self._emit(SourceStale(at=self._clock.now(), source="server", detail=str(err)[:300]))

    def _recovered(self, mono: float) -> None:
        self._failures = 0
        self._backoff_until = float("-inf")
        if self._down_since is not None:
            outage = mono - self._down_since
            self._down_since = None
            LOGGER.info("server reachable again after %.0f s", outage)
            self._emit(SourceRecovered(at=self._clock.now(), source="server", outage_s=round(outage, 1)))
