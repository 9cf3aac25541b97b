"""Server I/O off the control loop: schedule fetches (call 5), event forwarding (call 4), status posts
(call 6). A slow or absent server never delays a control tick: results come back through a bounded queue
that the loop drains once per tick.

No exception ends the worker: a server problem is an outage (reported once, retried with a back-off capped
at :data:`MAX_BACKOFF_S`), anything else (a full disk, a schedule that cannot be checked, a poisoned event)
is a fault of that one exchange: logged once, backed off, and the other exchanges go on. :attr:`health`
says whether every exchange worked last time; the control loop watches it.

Schedules are checked every ``check_interval_s`` with a conditional GET (a 304 costs a few bytes) and
fetched in full every ``schedule_interval_s`` whatever the ETag says."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from controller.clock import Clock
from controller.daemon.forwarder import Forwarder
from controller.daemon.schedule_source import ScheduleSource, validate_schedule
from controller.daemon.server_client import ServerClient, ServerError, ServerRejected, StatusReport
from controller.domain.events import EventBase, ScheduleLoaded, ScheduleRejected, SourceRecovered, SourceStale
from controller.domain.schedule import Schedule
from controller.settings import LimitSettings

__all__ = ["MAX_BACKOFF_S", "ServerWorker", "WorkerHealth"]

LOGGER = logging.getLogger(__name__)

OUTBOX_SIZE: Final = 64
BATCHES_PER_ROUND: Final = 20
FINAL_BATCHES: Final = 200  # on stop: ship up to this many batches, the rest goes at the next start
IDLE_WAIT_S: Final = 30.0
"""The longest the worker sleeps on its own: the control loop wakes it when an exchange is due
(:meth:`ServerWorker.due`), on the daemon's clock (a scaled one in simulations too)."""
MAX_BACKOFF_S: Final = 30.0  # after a long outage the server's return is noticed within this (plus a round)
FIRST_BACKOFF_S: Final = 2.0
PROBLEM_CHARS: Final = 300


def backoff_s(failures: int) -> float:
    """Seconds to wait after ``failures`` failures in a row: 4, 8, 16, then :data:`MAX_BACKOFF_S`."""
    return min(MAX_BACKOFF_S, FIRST_BACKOFF_S * 2.0 ** min(failures, 8))


@dataclass(frozen=True)
class WorkerHealth:
    """Whether every exchange of the last rounds worked; ``problem`` names the first that did not."""

    healthy: bool
    problem: str | None = None


_HEALTHY: Final = WorkerHealth(healthy=True)


def _describe(err: BaseException) -> str:
    return f"{err.__class__.__name__}: {err}"[:PROBLEM_CHARS]


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
        check_interval_s: float | None = None,
    ) -> None:
        self._clock = clock
        self._limits = limits
        self._source = schedule_source
        self._schedule_interval_s = schedule_interval_s
        self._check_interval_s = min(check_interval_s or schedule_interval_s, schedule_interval_s)
        self._forwarder = forwarder
        self._client = client
        self._status_interval_s = status_interval_s
        self._status = status
        self.schedule_etag = schedule_etag
        self.outbox: queue.Queue[EventBase] = queue.Queue(maxsize=OUTBOX_SIZE)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="zsm-server-io", daemon=True)
        self._next_schedule = float("-inf")  # the next full fetch
        self._next_check = float("-inf")  # the next conditional GET
        self.schedule_checked_at: datetime | None = None
        self._next_status = float("-inf")
        self._forward_interval_s = forward_interval_s
        self._next_forward = float("-inf")
        self._down_since: float | None = None
        self._backoff_until = float("-inf")
        self._failures = 0
        self._faults: dict[str, str] = {}  # exchange -> problem, while it keeps failing
        self._fault_counts: dict[str, int] = {}
        self._fault_until: dict[str, float] = {}

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the worker thread runs (it only ends on :meth:`stop`)."""
        return self._thread.is_alive()

    def restart_if_dead(self) -> bool:
        """Start a fresh thread when the last one ended without :meth:`stop`; ``True`` when restarted."""
        if self._stop.is_set() or self._thread.is_alive() or self._thread.ident is None:
            return False
        self._thread = threading.Thread(target=self._run, name="zsm-server-io", daemon=True)
        self._thread.start()
        return True

    @property
    def health(self) -> WorkerHealth:
        """Unhealthy while an exchange keeps failing for a reason other than the server being away."""
        if not self._faults:
            return _HEALTHY
        faults = dict(self._faults)
        if not faults:
            return _HEALTHY
        name, problem = next(iter(faults.items()))
        return WorkerHealth(healthy=False, problem=f"{name}: {problem}")

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop after the exchange in progress; one last forward and status are attempted."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout_s)

    def wake(self) -> None:
        """Ask for a round now (e.g. after the loop appended events)."""
        self._wake.set()

    def due(self) -> bool:
        """Whether an exchange is due (the control loop then wakes the worker; waking it every tick would
        cost two thread switches a second for a round with nothing to do)."""
        mono = self._clock.monotonic()
        if mono < self._backoff_until:
            return False
        never = float("-inf")
        due = []
        if self._source is not None:
            due.append(("schedule", min(self._next_check, self._next_schedule)))
        if self._forwarder is not None:
            due.append(("upload", self._next_forward))
        if self._client is not None:
            due.append(("status", self._next_status))
        return any(at <= mono and self._fault_until.get(name, never) <= mono for name, at in due)

    def drain(self) -> list[EventBase]:
        """Events produced since the last call (schedule loaded/rejected, server stale/recovered)."""
        events: list[EventBase] = []
        while self.outbox.qsize():  # (checked first: an empty queue's exception costs more every tick)
            try:
                events.append(self.outbox.get_nowait())
            except queue.Empty:
                break
        return events

    def _emit(self, event: EventBase) -> None:
        try:
            self.outbox.put_nowait(event)
        except queue.Full:
            LOGGER.error("server outbox full; dropping %s", event.kind)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._guarded_round(final=False)
            self._wake.wait(IDLE_WAIT_S)
            self._wake.clear()
        self._guarded_round(final=True)

    def _guarded_round(self, *, final: bool) -> None:
        try:
            self.run_round(final=final)
        except Exception as err:  # noqa: BLE001 - the last net: run_round guards each exchange itself
            self._fault("round", self._clock.monotonic(), err)

    def run_round(self, final: bool = False) -> None:
        """One pass over the due exchanges (public so tests can drive the worker without a thread)."""
        mono = self._clock.monotonic()
        if mono < self._backoff_until and not final:
            return
        done = 0  # exchanges that went through: only they can show the server is back
        try:
            if self._source is not None and not final:
                done += self._exchange("schedule", mono, self._schedule_round)
            if self._forwarder is not None and (mono >= self._next_forward or final):
                done += self._exchange(
                    "upload", mono, lambda m: self._forward_round(m, final=final), final=final
                )
            if self._client is not None and (mono >= self._next_status or final):
                done += self._exchange("status", mono, self._status_round, final=final)
        except ServerRejected as err:
            LOGGER.error("server refused a request: %s", err)
            self._failed(mono, err)
        except ServerError as err:
            self._failed(mono, err)
        else:
            if done:
                self._recovered(mono)

    def _exchange(self, name: str, mono: float, run: Callable[[float], bool], *, final: bool = False) -> bool:
        """Run one exchange; ``True`` when it reached its peer. A :class:`ServerError` propagates (an
        outage); anything else is a fault of this exchange."""
        if mono < self._fault_until.get(name, float("-inf")) and not final:
            return False
        try:
            reached = run(mono)
        except ServerError:
            raise
        except Exception as err:  # noqa: BLE001 - no exception may end the worker
            self._fault(name, mono, err)
            return False
        self._fault_cleared(name)
        return reached

    def _schedule_round(self, mono: float) -> bool:
        full = mono >= self._next_schedule
        if not (full or mono >= self._next_check):
            return False
        self._fetch_schedule(conditional=not full)
        self._next_check = mono + self._check_interval_s
        if full:
            self._next_schedule = mono + self._schedule_interval_s
        return True

    def _forward_round(self, mono: float, *, final: bool) -> bool:
        assert self._forwarder is not None
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
        return True

    def _status_round(self, mono: float) -> bool:
        assert self._client is not None
        health = self.health
        report = self._status().model_copy(
            update={
                "worker_healthy": health.healthy,
                "worker_problem": health.problem,
                "schedule_checked_at": self.schedule_checked_at,
                "schedule_check_interval_s": self._check_interval_s if self._source else None,
            }
        )
        self._client.post_status(report)
        self._next_status = mono + self._status_interval_s  # after it went through: a failed post is retried
        return True

    def _fetch_schedule(self, *, conditional: bool) -> None:
        assert self._source is not None
        fetched = self._source.fetch(self.schedule_etag if conditional else None)
        self.schedule_checked_at = self._clock.now()
        for event in _take_events(self._source):  # e.g. prices_received from a planning source
            self._emit(event)
        if fetched.body is None and fetched.error is None:
            return
        if fetched.etag is not None and fetched.etag == self.schedule_etag:
            return  # the full fetch found the document we have
        schedule, errors = (None, [fetched.error]) if fetched.error else self._check(fetched.body or {})
        now = self._clock.now()
        if errors:
            LOGGER.error(
                "schedule from %s rejected; keeping the last good one: %s", self._source.name, errors
            )
            self._emit(ScheduleRejected(at=now, source=self._source.name, errors=errors[:50]))
        else:
            LOGGER.info("schedule from %s loaded (version %s)", self._source.name, fetched.version)
            raw = fetched.body or {}
            name, etag, version = self._source.name, fetched.etag, fetched.version
            if schedule is not None:  # validated here: the control thread will not validate it again
                loaded = ScheduleLoaded.of(schedule, raw, at=now, source=name, etag=etag, version=version)
            else:
                loaded = ScheduleLoaded(at=now, source=name, schedule=raw, etag=etag, version=version)
            self._emit(loaded)
        self.schedule_etag = fetched.etag  # a rejected document is not fetched again until it changes

    def _check(self, body: dict[str, Any]) -> tuple[Schedule | None, list[str]]:
        """The schedule, or its problems; a check that fails itself (a date past year 9999) rejects it."""
        try:
            return validate_schedule(body, self._limits)
        except Exception as err:  # noqa: BLE001 - a poisoned document must not stop the worker
            LOGGER.exception(
                "checking the schedule from %s failed", self._source.name if self._source else "?"
            )
            return None, [f"schedule: cannot be checked: {_describe(err)}"]

    def _fault(self, name: str, mono: float, err: BaseException) -> None:
        """An exchange failed for a reason other than the server: log once, back off, go on."""
        count = self._fault_counts.get(name, 0) + 1
        self._fault_counts[name] = count
        self._fault_until[name] = mono + backoff_s(count)
        problem = _describe(err)
        if self._faults.get(name) != problem:
            LOGGER.error("server worker: %s failed (%s); retrying with back-off (logged once)", name, problem,
                         exc_info=err)  # fmt: skip
        self._faults[name] = problem

    def _fault_cleared(self, name: str) -> None:
        self._fault_counts.pop(name, None)
        self._fault_until.pop(name, None)
        if self._faults.pop(name, None) is not None:
            LOGGER.warning("server worker: %s works again", name)

    def _failed(self, mono: float, err: ServerError) -> None:
        self._failures += 1
        self._backoff_until = mono + backoff_s(self._failures)
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
