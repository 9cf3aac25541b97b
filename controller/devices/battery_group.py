"""Several batteries on one meter, shown to the control loop as one battery.

The core regulates one total set-point; :class:`BatteryGroup` splits every command with the pure
allocator (:mod:`controller.domain.allocation`), writes only the members whose share changed, and reads
the members into one combined :class:`BatteryReading` (SoC weighted by capacity, power summed, limits of
the members that may run summed). Each member's reading and the split are logged as their own events, so
status, audit and replay see every battery and the total.

A member that fails to answer, reports a fault or goes silent for ``stale_s`` counts as offline: the next
command (at the latest one write interval later) gives its share to the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from controller.domain.allocation import AllocationPolicy, AllocationState, BatteryUnit, allocate
from controller.domain.commands import Command
from controller.domain.events import (
    BatteryMemberReading,
    BatteryReading,
    BatterySharesAssigned,
    CommandNotApplied,
    CommandResult,
    EventBase,
)
from controller.wire import BatteryMemberStatus

__all__ = ["BatteryGroup", "GroupMember", "GroupOutcome", "MemberPort"]

LOGGER = logging.getLogger(__name__)


class MemberOutcome(Protocol):
    """What one member's adapter reports about a command."""

    @property
    def accepted(self) -> bool: ...

    @property
    def events(self) -> tuple[EventBase, ...]: ...


class MemberPort(Protocol):
    """One battery adapter (zenSDK or MQTT) as the group uses it."""

    def poll(self) -> list[EventBase]: ...

    def apply(self, command: Command) -> MemberOutcome: ...


@dataclass
class GroupMember:
    """A named battery in the group with its usable capacity."""

    name: str
    port: MemberPort
    capacity_wh: float
    last: BatteryReading | None = None
    failed: bool = False
    command: Command | None = None  # what the member was last told and took (None = unknown)


@dataclass(frozen=True)
class GroupOutcome:
    """The group's answer to one command: accepted when every member that was written accepted."""

    accepted: bool
    events: tuple[EventBase, ...]


class BatteryGroup:
    """N battery adapters behind the single-battery port of the control loop."""

    def __init__(
        self,
        members: Sequence[GroupMember],
        *,
        now: Callable[[], datetime],
        min_soc_pct: float,
        max_soc_pct: float,
        stale_s: float = 30.0,
        policy: AllocationPolicy | None = None,
    ) -> None:
        if not members:
            raise ValueError("a battery group needs at least one battery")
        names = [member.name for member in members]
        if len(set(names)) != len(names):
            raise ValueError(f"battery names must be unique: {names}")
        self.members = list(members)
        self._now = now
        self._min_soc = min_soc_pct
        self._max_soc = max_soc_pct
        self._stale = timedelta(seconds=stale_s)
        self._policy = policy or AllocationPolicy()
        self._state = AllocationState()
        self._last_command = Command.standby()

    # -- reads ------------------------------------------------------------------------------------------
    def poll(self) -> list[EventBase]:
        """Read every member; log each member's reading and return one combined reading first."""
        member_events: list[EventBase] = []
        for member in self.members:
            try:
                events = member.port.poll()
            except Exception as err:  # noqa: BLE001 - one member's failure must not stop the others
                member.failed = True
                LOGGER.warning("battery %s: read failed: %s", member.name, err)
                continue
            member.failed = False
            for event in events:
                if isinstance(event, BatteryReading):
                    member.last = event
                    member_events.append(_member_reading(member.name, event))
                elif isinstance(event, CommandNotApplied):
                    member.command = None  # write it again with the next command
                    member_events.append(
                        CommandNotApplied(
                            at=event.at, command=self._last_command, detail=f"{member.name}: {event.detail}"
                        )
                    )
                else:
                    member_events.append(event)
        combined = self._combined()
        return ([combined] if combined is not None else []) + member_events

    def _online(self, member: GroupMember) -> bool:
        reading = member.last
        if member.failed or reading is None or reading.fault:
            return False
        return self._now() - reading.at <= self._stale

    def _combined(self) -> BatteryReading | None:
        live = [member for member in self.members if self._online(member)]
        if not live:
            return None
        readings = [member.last for member in live if member.last is not None]
        capacity = sum(member.capacity_wh for member in live)
        soc = sum(r.soc_pct * m.capacity_wh for r, m in zip(readings, live, strict=True)) / capacity
        units = self._units()
        temperatures = [r.temperature_c for r in readings if r.temperature_c is not None]
        return BatteryReading(
            at=max(r.at for r in readings),
            soc_pct=round(soc, 3),
            battery_w=sum(r.battery_w for r in readings),
            max_discharge_w=round(sum(unit.limit_w(True) for unit in units)),
            max_charge_w=round(sum(unit.limit_w(False) for unit in units)),
            temperature_c=max(temperatures) if temperatures else None,
            soc_limit=_combined_soc_limit(readings),
        )

    def _units(self) -> list[BatteryUnit]:
        units = []
        for member in self.members:
            reading = member.last
            online = self._online(member)
            if reading is None:
                units.append(BatteryUnit(member.name, 0.0, 0.0, 0.0, online=False))
                continue
            units.append(
                BatteryUnit(
                    member.name,
                    reading.soc_pct,
                    0.0 if reading.soc_limit == 2 else float(reading.max_discharge_w or 0),
                    0.0 if reading.soc_limit == 1 else float(reading.max_charge_w or 0),
                    self._min_soc,
                    self._max_soc,
                    member.capacity_wh,
                    online,
                )
            )
        return units

    def member_status(self) -> list[BatteryMemberStatus]:
        """Each battery for the status report: online, last SoC and output, and its current share."""
        return [
            BatteryMemberStatus(
                name=member.name,
                online=self._online(member),
                soc_pct=member.last.soc_pct if member.last is not None else None,
                battery_w=member.last.battery_w if member.last is not None else None,
                share_w=float(member.command.battery_w) if member.command is not None else None,
            )
            for member in self.members
        ]

    # -- writes -----------------------------------------------------------------------------------------
    def apply(self, command: Command) -> GroupOutcome:
        """Split ``command`` over the members and write the members whose share changed.

        The loop gets one :class:`CommandResult` for ``command`` (ok when every write was accepted); the
        split and each member's error are in the :class:`BatterySharesAssigned` event before it.
        """
        self._last_command = command
        allocation = allocate(float(command.battery_w), self._units(), self._state, self._policy)
        self._state = allocation.state
        start = self._now()
        passed: list[EventBase] = []
        errors: dict[str, str] = {}
        for member in self.members:
            wanted = Command.from_battery_w(allocation.shares_w[member.name])
            if wanted == member.command:
                continue
            try:
                outcome = member.port.apply(wanted)
            except Exception as err:  # noqa: BLE001 - a member's failure is an outcome, not a crash
                LOGGER.warning("battery %s: write %s failed: %s", member.name, wanted, err)
                member.failed = True
                errors[member.name] = f"{err.__class__.__name__}: {err}"
                continue
            member.command = wanted if outcome.accepted else None
            for event in outcome.events:
                if isinstance(event, CommandResult):
                    if not event.ok:
                        errors[member.name] = event.error or "refused"
                else:
                    passed.append(event)
            if not outcome.accepted and member.name not in errors:
                errors[member.name] = "refused"
        end = self._now()
        shares = BatterySharesAssigned(
            at=start,
            command=command,
            shares_w={name: round(watts) for name, watts in allocation.shares_w.items()},
            errors=errors,
        )
        result = CommandResult(
            at=end,
            command=command,
            ok=not errors,
            latency_ms=(end - start).total_seconds() * 1000,
            error="; ".join(f"{name}: {error}" for name, error in errors.items()) or None,
        )
        return GroupOutcome(not errors, (shares, *passed, result))


def _member_reading(name: str, reading: BatteryReading) -> BatteryMemberReading:
    return BatteryMemberReading(
        at=reading.at,
        battery=name,
        soc_pct=reading.soc_pct,
        battery_w=reading.battery_w,
        max_discharge_w=reading.max_discharge_w,
        max_charge_w=reading.max_charge_w,
        soc_limit=reading.soc_limit,
        fault=reading.fault,
    )


def _combined_soc_limit(readings: Sequence[BatteryReading]) -> int:
    """A cut-off binds the group only when it binds every member."""
    limits = {reading.soc_limit for reading in readings}
    return limits.pop() if len(limits) == 1 else 0
