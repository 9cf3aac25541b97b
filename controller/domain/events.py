"""Event payloads: every fact the controller records, as frozen pydantic models.

Events form a discriminated union on ``kind``. Each event carries ``at`` (aware UTC, when it happened).
In the event log, ``kind`` and ``at`` live in their own columns and the rest is the JSON payload; each
kind has a ``schema_version``, and :mod:`controller.domain.upcasting` turns older payload shapes into the
current one on read. Names are facts in the past tense or readings; units are in the field names.

Sign conventions: ``grid_w`` + = import from the grid; ``battery_w`` + = discharge into the home.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    SerializationInfo,
    TypeAdapter,
)

from controller.domain.commands import Command
from controller.domain.schedule import Schedule

__all__ = [
    "COMPACT",
    "UtcTime",
    "BatteryMemberReading",
    "BatteryReading",
    "BatterySharesAssigned",
    "CommandIssued",
    "CommandNotApplied",
    "CommandResult",
    "DaemonStarted",
    "DaemonStopped",
    "DeadTimeEstimated",
    "DeviceFault",
    "DeviceWriteCounted",
    "Event",
    "EventBase",
    "EventRole",
    "ForwarderCursorAdvanced",
    "LagEstimated",
    "MeterReading",
    "OverrideRequested",
    "PriceInterval",
    "PricesReceived",
    "RegulationFallback",
    "ScheduleLoaded",
    "ScheduleRejected",
    "SlotChanged",
    "SourceRecovered",
    "SourceStale",
    "StateChanged",
    "Ticked",
    "WorkerRecovered",
    "WorkerUnhealthy",
    "event_adapter",
    "event_kinds",
    "kinds_with_role",
]

Scalar = float | int | str | bool | None

#: Serialization context that makes times compact (epoch milliseconds) for storage.
COMPACT = {"compact_times": True}


def _serialize_time(value: datetime, info: SerializationInfo) -> str | int:
    context = info.context
    if isinstance(context, dict) and context.get("compact_times"):
        return round(value.timestamp() * 1000)
    return value.isoformat().replace("+00:00", "Z")


#: An aware UTC time; JSON is ISO 8601, or epoch milliseconds under the :data:`COMPACT` context.
UtcTime = Annotated[AwareDatetime, PlainSerializer(_serialize_time, when_used="json")]


#: What an event is to the core: a fact it is fed (``input``), a choice it made (``decision``), what became
#: of a command at the device (``outcome``), or bookkeeping that is neither (``marker``).
EventRole = Literal["input", "decision", "outcome", "marker"]


class EventBase(BaseModel):
    """Common shape of every event: a ``kind`` tag and the moment ``at`` (aware UTC)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: ClassVar[int] = 1
    role: ClassVar[EventRole]
    kind: str
    at: UtcTime


class MeterReading(EventBase):
    """One P1 reading. ``meter_time`` is the meter's own timestamp when the protocol has one."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["meter_reading"] = "meter_reading"
    grid_w: float
    meter_time: UtcTime | None = None
    phases_w: tuple[float, ...] | None = None
    import_kwh: float | None = None
    export_kwh: float | None = None


class BatteryReading(EventBase):
    """One battery status read. ``soc_limit``: 0 normal, 1 charge cut-off reached, 2 discharge cut-off."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["battery_reading"] = "battery_reading"
    soc_pct: float = Field(ge=0, le=100)
    battery_w: float
    max_discharge_w: int | None = Field(default=None, ge=0)
    max_charge_w: int | None = Field(default=None, ge=0)
    temperature_c: float | None = None
    soc_limit: int = 0
    ac_mode: int | None = None
    fault: str | None = None


class ScheduleLoaded(EventBase):
    """A schedule was accepted (from the server, a URL, a file, or restored from the log).

    ``schedule`` is the document as logged; :meth:`validated` is it as a :class:`Schedule`, validated at
    most once per event (a worker that already validated it passes its :class:`Schedule` to :meth:`of`).
    """

    role: ClassVar[EventRole] = "input"
    kind: Literal["schedule_loaded"] = "schedule_loaded"
    source: str
    schedule: dict[str, Any]
    etag: str | None = None
    version: int | None = None
    _validated: Schedule | None = PrivateAttr(default=None)

    @classmethod
    def of(
        cls,
        schedule: Schedule,
        raw: dict[str, Any],
        *,
        at: datetime,
        source: str,
        etag: str | None = None,
        version: int | None = None,
    ) -> ScheduleLoaded:
        """The event for ``raw``, which the caller validated to ``schedule``."""
        event = cls(at=at, source=source, schedule=raw, etag=etag, version=version)
        event._validated = schedule
        return event

    def __eq__(self, other: object) -> bool:
        """Equal when the logged content is (the typed schedule is a cache, not content)."""
        if not isinstance(other, ScheduleLoaded):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    __hash__ = EventBase.__hash__

    def validated(self) -> Schedule:
        """The schedule as a :class:`Schedule`; raises ``ValidationError`` when it does not validate."""
        if self._validated is None:
            self._validated = Schedule.model_validate(self.schedule)
        return self._validated


class ScheduleRejected(EventBase):
    """A schedule was refused; the last good one stays in force."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["schedule_rejected"] = "schedule_rejected"
    source: str
    errors: list[str]


class SlotChanged(EventBase):
    """The schedule slot in force changed (mode and its parameters)."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["slot_changed"] = "slot_changed"
    mode: str
    power_w: int | None = None
    max_w: int | None = None
    target_offset_w: float | None = None
    slot_id: str | None = None
    ends_at: UtcTime | None = None


class StateChanged(EventBase):
    """The state machine moved from one state to another."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["state_changed"] = "state_changed"
    from_state: str
    to_state: str
    trigger: str
    reason: str


class CommandIssued(EventBase):
    """A command was decided, with the inputs that decided it (for audits)."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["command_issued"] = "command_issued"
    command: Command
    state: str
    reason: str = ""
    inputs: dict[str, Scalar] = Field(default_factory=dict)


class CommandResult(EventBase):
    """What became of a command sent to the device."""

    role: ClassVar[EventRole] = "outcome"
    kind: Literal["command_result"] = "command_result"
    command: Command
    ok: bool
    latency_ms: float
    error: str | None = None


class CommandNotApplied(EventBase):
    """The device accepted a write but the read-back shows it was not applied."""

    role: ClassVar[EventRole] = "outcome"
    kind: Literal["command_not_applied"] = "command_not_applied"
    command: Command
    detail: str


class DeviceWriteCounted(EventBase):
    """Flash-wear and relay bookkeeping: a write that switched acMode or was stored in flash."""

    role: ClassVar[EventRole] = "outcome"
    kind: Literal["device_write_counted"] = "device_write_counted"
    ac_mode_switch: bool = False
    flash_write: bool = False


class SourceStale(EventBase):
    """A data source (``meter``, ``battery``, ``server``) stopped delivering fresh data."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["source_stale"] = "source_stale"
    source: str
    age_s: float | None = None
    detail: str = ""


class SourceRecovered(EventBase):
    """A data source delivers fresh data again."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["source_recovered"] = "source_recovered"
    source: str
    outage_s: float | None = None


class DeviceFault(EventBase):
    """The device reported a fault (or an error state) that forbids operation."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["device_fault"] = "device_fault"
    source: str
    detail: str
    active: bool = True


class LagEstimated(EventBase):
    """The regulator's online estimate of the meter lag."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["lag_estimated"] = "lag_estimated"
    lag_s: float
    confidence: float = Field(ge=0, le=1)


class DeadTimeEstimated(EventBase):
    """The regulator's battery model now uses this dead time, learned from readings after its writes."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["dead_time_estimated"] = "dead_time_estimated"
    dead_time_s: float = Field(ge=0)
    confidence: float = Field(ge=0, le=1)
    steps: int = Field(ge=0)


class RegulationFallback(EventBase):
    """The regulator saw its own limit cycle and holds each set-point (``active``), or is back to normal."""

    role: ClassVar[EventRole] = "decision"
    kind: Literal["regulation_fallback"] = "regulation_fallback"
    active: bool
    reason: str = Field(max_length=300)


class ForwarderCursorAdvanced(EventBase):
    """The server acknowledged every event up to and including ``seq``."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["forwarder_cursor_advanced"] = "forwarder_cursor_advanced"
    seq: int = Field(ge=0)


class Ticked(EventBase):
    """A control tick began its transaction: ``at`` is the ``now`` the core was ticked with (exact replay)."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["ticked"] = "ticked"


class DaemonStarted(EventBase):
    """The daemon started (software version and a digest of its effective config)."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["daemon_started"] = "daemon_started"
    version: str
    config_digest: str


class DaemonStopped(EventBase):
    """The daemon stopped, and why."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["daemon_stopped"] = "daemon_stopped"
    reason: str


class WorkerUnhealthy(EventBase):
    """The server-I/O worker keeps failing at something other than reaching the server, or its thread died."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["worker_unhealthy"] = "worker_unhealthy"
    problem: str = Field(max_length=400)


class WorkerRecovered(EventBase):
    """The server-I/O worker works again after :class:`WorkerUnhealthy`."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["worker_recovered"] = "worker_recovered"
    unhealthy_s: float | None = None


class PriceInterval(BaseModel):
    """One day-ahead price interval (15 or 60 minutes), the user's tariff included."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: UtcTime
    end: UtcTime
    import_eur_per_kwh: float = Field(ge=-10, le=10)
    export_eur_per_kwh: float | None = Field(default=None, ge=-10, le=10)


class PricesReceived(EventBase):
    """Day-ahead prices arrived from a price source (``zone``: the bidding zone, e.g. ``NL``)."""

    role: ClassVar[EventRole] = "input"
    kind: Literal["prices_received"] = "prices_received"
    source: str
    zone: str
    intervals: tuple[PriceInterval, ...] = Field(max_length=2000)


class BatteryMemberReading(EventBase):
    """One battery of a group as read; the core acts on the group's combined :class:`BatteryReading`."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["battery_member_reading"] = "battery_member_reading"
    battery: str = Field(min_length=1, max_length=64)
    soc_pct: float = Field(ge=0, le=100)
    battery_w: float
    max_discharge_w: int | None = Field(default=None, ge=0)
    max_charge_w: int | None = Field(default=None, ge=0)
    soc_limit: int = 0
    fault: str | None = None


class BatterySharesAssigned(EventBase):
    """How a group command was split over the batteries (+ discharge, − charge), and any member's error."""

    role: ClassVar[EventRole] = "marker"
    kind: Literal["battery_shares_assigned"] = "battery_shares_assigned"
    command: Command
    shares_w: dict[str, int] = Field(max_length=16)
    errors: dict[str, str] = Field(default_factory=dict, max_length=16)


class OverrideRequested(EventBase):
    """A person asked for a mode now, outside the schedule (e.g. from Home Assistant).

    It takes effect as a dated slot from ``at`` to ``until`` in a ``ScheduleLoaded`` logged right after it;
    ``mode`` ``auto`` ends the override and the schedule rules again. ``power_w`` is for charge/discharge.
    """

    role: ClassVar[EventRole] = "input"
    kind: Literal["override_requested"] = "override_requested"
    source: str = Field(min_length=1, max_length=32)
    mode: Literal["auto", "charge", "discharge", "netzero", "netzero_plus", "standby"]
    power_w: int | None = Field(default=None, ge=0, le=100_000)
    until: UtcTime | None = None


Event = Annotated[
    MeterReading
    | BatteryReading
    | ScheduleLoaded
    | ScheduleRejected
    | SlotChanged
    | StateChanged
    | CommandIssued
    | CommandResult
    | CommandNotApplied
    | DeviceWriteCounted
    | SourceStale
    | SourceRecovered
    | DeviceFault
    | LagEstimated
    | DeadTimeEstimated
    | RegulationFallback
    | ForwarderCursorAdvanced
    | Ticked
    | DaemonStarted
    | DaemonStopped
    | PricesReceived
    | BatteryMemberReading
    | BatterySharesAssigned
    | OverrideRequested
    | WorkerUnhealthy
    | WorkerRecovered,
    Field(discriminator="kind"),
]

_ADAPTER: TypeAdapter[Event] | None = None


def event_adapter() -> TypeAdapter[Event]:
    """The (cached) validator for the :data:`Event` union."""
    global _ADAPTER
    if _ADAPTER is None:
        _ADAPTER = TypeAdapter(Event)
    return _ADAPTER


def event_kinds() -> dict[str, type[EventBase]]:
    """Map of every known ``kind`` to its model class."""
    kinds: dict[str, type[EventBase]] = {}
    for cls in EventBase.__subclasses__():
        default = cls.model_fields["kind"].default
        if isinstance(default, str):
            kinds[default] = cls
    return kinds


def kinds_with_role(*roles: EventRole) -> frozenset[str]:
    """The ``kind`` of every event class whose :attr:`EventBase.role` is one of ``roles``."""
    return frozenset(kind for kind, cls in event_kinds().items() if cls.role in roles)
