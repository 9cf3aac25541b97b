"""The control loop: read devices, decide, log, then act — once per tick.

Each tick: drain the server worker's results, poll the meter (every tick) and the battery (when due),
feed every input to the pure core, tick it, append inputs and decisions to the log in **one
transaction**, and only then send the decided commands to the battery. Device outcomes (results,
"accepted but not applied", wear counts) are logged in the next tick's transaction. When the log cannot
be written (a full disk) the loop keeps controlling, keeps the events in a bounded buffer and retries.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from controller import __version__
from controller.clock import Clock
from controller.daemon.pollers import SourcePoller
from controller.daemon.server_client import StatusReport
from controller.devices.battery_group import BatteryGroup
from controller.domain.commands import Command
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    EventBase,
    MeterReading,
    Ticked,
)
from controller.domain.machine import ControllerCore
from controller.domain.resend import ResendGuard
from storage.event_log import EventLog, EventLogError

__all__ = ["BatteryPort", "ControlLoop", "MeterPort", "RestoreTail", "restore_events"]

LOGGER = logging.getLogger(__name__)

UNSAVED_LIMIT: Final = 50_000
RETRY_COMMAND_S: Final = 10.0
RESTORE_WINDOW: Final = timedelta(minutes=15)
RESTORE_KINDS: Final = ("schedule_loaded", "slot_changed", "state_changed", "command_issued")


class Outcome(Protocol):
    """What a battery adapter reports about one command."""

    @property
    def accepted(self) -> bool: ...

    @property
    def events(self) -> tuple[EventBase, ...]: ...


class BatteryPort(Protocol):
    """The battery adapter as the loop uses it."""

    def poll(self) -> list[EventBase]: ...

    def apply(self, command: Command) -> Outcome: ...


class MeterPort(Protocol):
    """The meter adapter as the loop uses it (``None`` = nothing new)."""

    def read(self) -> MeterReading | None: ...


class RestoreTail:
    """What the core needs to resume at ``now``: the last event of each kind in :data:`RESTORE_KINDS`
    plus every event of the :data:`RESTORE_WINDOW` before ``now``, in log order.

    The one definition of "restore from the log": the daemon fills it from the database at start, replay
    feeds it the log as it goes and asks it at each ``daemon_started``.
    """

    def __init__(self) -> None:
        self.last: dict[str, tuple[int, EventBase]] = {}
        self.tail: deque[tuple[int, EventBase]] = deque()

    def add(self, seq: int, event: EventBase) -> None:
        """Take in one logged event (in ``seq`` order)."""
        if event.kind in RESTORE_KINDS:
            self.last[event.kind] = (seq, event)
        self.tail.append((seq, event))
        horizon = event.at - RESTORE_WINDOW
        while self.tail and self.tail[0][1].at < horizon:
            self.tail.popleft()

    def events(self, now: datetime) -> list[EventBase]:
        """The events to restore from at ``now``, oldest first."""
        picked = {seq: event for seq, event in self.last.values()}
        picked.update((seq, event) for seq, event in self.tail if event.at >= now - RESTORE_WINDOW)
        return [picked[seq] for seq in sorted(picked)]


def restore_events(log: EventLog, now: datetime) -> list[EventBase]:
    """What the core needs to resume from ``log`` at ``now`` (see :class:`RestoreTail`)."""
    picked: dict[int, EventBase] = {}
    for kind in RESTORE_KINDS:
        stored = log.last_of_kind(kind)
        if stored is not None:
            picked[stored.seq] = stored.event
    for stored in log.iter_range(now - RESTORE_WINDOW, now + timedelta(days=3650)):
        picked[stored.seq] = stored.event
    tail = RestoreTail()
    for seq in sorted(picked):
        tail.add(seq, picked[seq])
    return tail.events(now)


def _lower(configured: int, live: int | None) -> int:
    return configured if live is None else min(configured, live)


@dataclass
class _Snapshot:
    state: str = "Standby"
    last_command: Command | None = None
    last_command_at: datetime | None = None
    slot: str | None = None
    slot_id: str | None = None
    soc_pct: float | None = None
    grid_w: float | None = None
    battery_w: float | None = None
    max_charge_w: int | None = None
    max_discharge_w: int | None = None


class ControlLoop:
    """One site's control loop (the application layer around :class:`ControllerCore`)."""

    def __init__(
        self,
        *,
        core: ControllerCore,
        log: EventLog,
        clock: Clock,
        battery: BatteryPort,
        meter: MeterPort,
        battery_interval_s: float,
        meter_interval_s: float,
    ) -> None:
        self.core = core
        self.log = log
        self.clock = clock
        self.battery = battery
        self.battery_poller = SourcePoller("battery", battery.poll, clock, interval_s=battery_interval_s)
        self.meter_poller = SourcePoller("meter", self._read_meter, clock, interval_s=meter_interval_s)
        self._meter = meter
        self._unsaved: deque[EventBase] = deque()
        self._carry: list[EventBase] = []
        self._write_failing = False
        self._dropped = 0
        self._unconfirmed: Command | None = None
        self._retry_at = float("-inf")
        self._resend = ResendGuard()
        self._resync: Command | None = None  # after a restart: the command in force, sent on the first tick
        self.snapshot = _Snapshot()
        self.ticks = 0

    def _read_meter(self) -> list[EventBase]:
        reading = self._meter.read()
        return [] if reading is None else [reading]

    # -- start ---------------------------------------------------------------------------------------

    def restore(self) -> int:
        """Rebuild the core from the log without re-triggering anything; returns events folded."""
        events = restore_events(self.log, self.clock.now())
        projection = self.core.restore(events)
        self.snapshot.state = str(projection.state)
        self.snapshot.last_command = projection.last_command
        self._resync = projection.last_command
        return len(events)

    # -- the tick ------------------------------------------------------------------------------------

    def tick(self, extra_inputs: Sequence[EventBase] = ()) -> list[CommandIssued]:
        """One control tick; returns the commands decided (already sent to the battery).

        The tick's transaction is ``Ticked`` (the ``now`` the core is ticked with), the inputs in the order
        the core handled them (the last tick's device outcomes, the worker's results, the battery and meter
        polls), then the core's decisions, so a replay can re-drive the core exactly.
        """
        inputs: list[EventBase] = [*self._carry, *extra_inputs]
        self._carry = []
        # the battery first: after a restart its restored reading is old, and a meter reading handled
        # before a fresh battery reading would make the core judge the battery stale for a moment
        inputs += self.battery_poller.poll()
        inputs += self.meter_poller.poll()
        now = self.clock.now()
        decided = self.core.step(now, inputs)
        self._persist([Ticked(at=now), *inputs, *decided])
        commands = [event for event in decided if isinstance(event, CommandIssued)]
        for issued in commands:
            LOGGER.info("%s -> %s (%s)", issued.state, issued.command, issued.reason or "decided")
        resync, self._resync = self._resync, None
        if commands:  # one write per tick: a later decision of the same tick supersedes an earlier one
            self._send(commands[-1].command)
        elif resync is not None:  # a crashed daemon left the battery at a set-point: make it ours again
            LOGGER.info("re-sending the command in force after the restart: %s", resync)
            self._send(resync)
        else:
            self._retry_unconfirmed()
            self._resend_if_dropped(inputs, now)
        self._update_snapshot(inputs, commands)
        self.ticks += 1
        return commands

    def _send(self, command: Command) -> None:
        outcome = self.battery.apply(command)
        self._carry.extend(outcome.events)
        if outcome.accepted:
            self._unconfirmed = None
            self._resend.written(command, self.clock.now())
        else:
            self._unconfirmed = command
            self._retry_at = self.clock.monotonic() + RETRY_COMMAND_S
            self._resend.forget()

    def _resend_if_dropped(self, inputs: Sequence[EventBase], now: datetime) -> None:
        """Send the command in force again when the battery's reports show it dropped it."""
        for event in inputs:
            if isinstance(event, BatteryReading):
                self._resend.observe(event)
        command = self._resend.due(now)
        if command is not None:
            LOGGER.warning(
                "the battery does not follow %s (changed from outside?); sending it again", command
            )
            self._send(command)

    def _retry_unconfirmed(self) -> None:
        if self._unconfirmed is None or self.clock.monotonic() < self._retry_at:
            return
        if self.battery_poller.in_outage:  # wait for the device to answer reads again
            return
        LOGGER.info("retrying %s (the last write failed)", self._unconfirmed)
        self._send(self._unconfirmed)

    def _persist(self, events: list[EventBase]) -> None:
        batch = [*self._unsaved, *events]
        if not batch:
            return
        try:
            self.log.append_many(batch)
        except EventLogError as err:
            self._unsaved = deque(batch)
            while len(self._unsaved) > UNSAVED_LIMIT:
                self._unsaved.popleft()
                self._dropped += 1
            if not self._write_failing:
                LOGGER.error("cannot write the event log (%s); controlling on, keeping events in memory", err)
                self._write_failing = True
            return
        self._unsaved.clear()
        if self._write_failing:
            LOGGER.warning("event log writable again (%d events had to be dropped)", self._dropped)
            self._write_failing = False

    @property
    def unsaved(self) -> int:
        """Events waiting for the log to become writable again."""
        return len(self._unsaved)

    # -- stop ----------------------------------------------------------------------------------------

    def command_standby(self, reason: str) -> None:
        """Log and send standby outside the machine (daemon stop, crash)."""
        now = self.clock.now()
        issued = CommandIssued(
            at=now,
            command=Command.standby(),
            state=str(self.core.state),
            reason=reason,
            inputs={"stop": True},
        )
        self._persist([*self._carry, issued])
        self._carry = []
        try:
            outcome = self.battery.apply(Command.standby())
            self._persist(list(outcome.events))
        except Exception as err:  # noqa: BLE001 - last words: never let standby mask the original error
            LOGGER.error("could not command standby: %s", err)

    # -- status --------------------------------------------------------------------------------------

    def _update_snapshot(self, inputs: Sequence[EventBase], commands: Sequence[CommandIssued]) -> None:
        snap = self.snapshot
        snap.state = str(self.core.state)
        snap.slot = self.core.slot.mode.value
        snap.slot_id = self.core.slot.slot_id
        for event in inputs:
            if isinstance(event, MeterReading):
                snap.grid_w = event.grid_w
            elif isinstance(event, BatteryReading):
                snap.soc_pct = event.soc_pct
                snap.battery_w = event.battery_w
                # what a schedule may ask for: the configured limit, or less when the device says so
                # (0 = blocked right now; the server then does not check schedules against it)
                limits = self.core.limits
                snap.max_charge_w = _lower(limits.max_charge_w, event.max_charge_w)
                snap.max_discharge_w = _lower(limits.max_discharge_w, event.max_discharge_w)
        if commands:
            snap.last_command = commands[-1].command
            snap.last_command_at = commands[-1].at

    def status(self) -> StatusReport:
        """The liveness status for the server (read from the worker thread)."""
        snap = self.snapshot
        return StatusReport(
            state=snap.state,
            last_command=snap.last_command.model_dump(mode="json") if snap.last_command else None,
            last_command_at=snap.last_command_at,
            software_version=__version__,
            heartbeat_at=self.clock.now(),
            slot={"mode": snap.slot, "id": snap.slot_id} if snap.slot else None,
            soc_pct=snap.soc_pct,
            grid_w=snap.grid_w,
            battery_w=snap.battery_w,
            max_charge_w=snap.max_charge_w,
            max_discharge_w=snap.max_discharge_w,
            batteries=self.battery.member_status() if isinstance(self.battery, BatteryGroup) else [],
        )
