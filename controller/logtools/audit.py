"""Audit: the command in force at a moment, and the chain of events that decided it, in plain words.

:func:`explain_at` is pure: it takes the relevant events (in ``seq`` order) and the moment. The command in
force is the last ``command_issued`` at or before the moment; its causes are the latest schedule, slot,
state, meter and battery readings and lag estimate the core had when it issued it (lower ``seq``), and the
inputs recorded in the command itself (the core's and the regulator's). :func:`collect_audit_events`
reads just those events from a (large) log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field

from controller.domain.events import (
    BatteryReading,
    BatterySharesAssigned,
    CommandIssued,
    CommandNotApplied,
    CommandResult,
    DeadTimeEstimated,
    DeviceFault,
    LagEstimated,
    MeterReading,
    RegulationFallback,
    ScheduleLoaded,
    SlotChanged,
    SourceRecovered,
    SourceStale,
    StateChanged,
)
from controller.domain.schedule import DEFAULT_TIMEZONE
from controller.logtools.common import fmt_local, is_stop_command, zone
from storage.event_log import EventLog, StoredEvent

__all__ = [
    "Audit",
    "AuditStep",
    "collect_audit_events",
    "explain_at",
    "format_audit",
    "log_timezone",
    "parse_at",
]

#: The latest event of each of these kinds before the command is part of its explanation.
CAUSE_KINDS: Final = (
    "schedule_loaded",
    "slot_changed",
    "state_changed",
    "meter_reading",
    "battery_reading",
    "lag_estimated",
    "dead_time_estimated",
    "regulation_fallback",
)
#: Kinds worth naming when they happened between the command and the moment asked about.
SINCE_KINDS: Final = (
    "state_changed",
    "slot_changed",
    "source_stale",
    "source_recovered",
    "device_fault",
    "regulation_fallback",
)
_SEARCH_WINDOWS: Final = (timedelta(hours=1), timedelta(days=1), timedelta(days=31), timedelta(days=3660))
_READING_WINDOW: Final = timedelta(minutes=5)
_MS: Final = timedelta(milliseconds=1)


class AuditStep(BaseModel):
    """One link of the chain: an event, and what it means in words."""

    model_config = ConfigDict(frozen=True)

    role: str
    seq: int
    at: datetime
    kind: str
    words: str
    data: dict[str, Any] = Field(default_factory=dict)


class Audit(BaseModel):
    """The answer for one moment."""

    model_config = ConfigDict(frozen=True)

    asked_at: datetime
    timezone: str
    command: str | None = None
    battery_w: int | None = None
    issued_at: datetime | None = None
    issued_seq: int | None = None
    state: str | None = None
    reason: str | None = None
    trigger: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    device: str | None = None
    #: several batteries: how the command was split (battery name → W, + discharge, − charge)
    shares_w: dict[str, int] | None = None
    in_force_until: datetime | None = None
    next_command: str | None = None
    chain: list[AuditStep] = Field(default_factory=list)
    since: list[AuditStep] = Field(default_factory=list)
    summary: str = ""


# -- time ----------------------------------------------------------------------------------------------


def parse_at(text: str, tz: tzinfo) -> datetime:
    """``2026-11-24 18:03`` as local time in ``tz`` (first occurrence when ambiguous), or an ISO time with
    an offset / ``Z`` as given; returns aware UTC."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError as err:
        raise ValueError(
            f"not a time: {text!r} (use e.g. '2026-11-24 18:03' or '2026-11-24T17:03Z')"
        ) from err
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz, fold=0)
    return value.astimezone(UTC)


def log_timezone(log: EventLog) -> str:
    """The timezone of the newest schedule in the log (the schedule's times are local to it)."""
    stored = log.last_of_kind("schedule_loaded")
    if stored is not None and isinstance(stored.event, ScheduleLoaded):
        name = stored.event.schedule.get("timezone")
        if isinstance(name, str) and name:
            return name
    return DEFAULT_TIMEZONE


# -- reading -------------------------------------------------------------------------------------------


def _last_before(log: EventLog, kinds: Sequence[str], end: datetime) -> StoredEvent | None:
    for window in _SEARCH_WINDOWS:
        found = log.read_range(end - window, end, kinds)
        if found:
            return found[-1]
    return None


def collect_audit_events(log: EventLog, at: datetime) -> list[StoredEvent]:
    """The events :func:`explain_at` needs for ``at``, read with bounded queries, in ``seq`` order."""
    picked: dict[int, StoredEvent] = {}
    command = _last_before(log, ["command_issued"], at + _MS)
    cut = (command.at if command is not None else at) + _MS
    if command is not None:
        picked[command.seq] = command
    for kind in (
        "schedule_loaded",
        "slot_changed",
        "state_changed",
        "lag_estimated",
        "dead_time_estimated",
        "regulation_fallback",
    ):
        found = _last_before(log, [kind], cut)
        if found is not None:
            picked[found.seq] = found
    for stored in log.read_range(cut - _READING_WINDOW, cut, ["meter_reading", "battery_reading"]):
        picked[stored.seq] = stored
    after = [
        *SINCE_KINDS,
        "command_result",
        "command_not_applied",
        "command_issued",
        "battery_shares_assigned",
    ]
    for stored in log.read_range(cut - _MS, at + _MS, after):
        picked[stored.seq] = stored
    for stored in log.iter_range(at + _MS, at + _SEARCH_WINDOWS[-1], ["command_issued"]):
        picked[stored.seq] = stored
        break
    return [picked[seq] for seq in sorted(picked)]


# -- explaining ----------------------------------------------------------------------------------------


def _num(value: Any, unit: str = "W", fmt: str = "{:.0f}") -> str:
    if value is None:
        return "?"
    try:
        return fmt.format(float(value)) + (f" {unit}" if unit else "")
    except (TypeError, ValueError):
        return str(value)


def _grid_words(grid_w: float) -> str:
    if grid_w > 0:
        return f"{grid_w:.0f} W import"
    if grid_w < 0:
        return f"{-grid_w:.0f} W export"
    return "0 W"


def _battery_words(battery_w: float) -> str:
    if battery_w > 0:
        return f"discharging {battery_w:.0f} W"
    if battery_w < 0:
        return f"charging {-battery_w:.0f} W"
    return "idle (0 W)"


def _step(role: str, stored: StoredEvent, tz: tzinfo, ref: datetime | None) -> AuditStep:
    event = stored.event
    when = fmt_local(event.at, tz)
    age = ""
    if ref is not None:
        seconds = (ref - event.at).total_seconds()
        age = f", {seconds:.1f} s before the command" if seconds >= 0.05 else ", at the same moment"
    words: str
    if isinstance(event, ScheduleLoaded):
        version = f"version {event.version}" if event.version is not None else "a new version"
        tz_name = event.schedule.get("timezone", DEFAULT_TIMEZONE)
        words = f"{version} loaded from {event.source} at {when} (timezone {tz_name})"
    elif isinstance(event, SlotChanged):
        parts = [f"slot '{event.slot_id or 'default'}' ({event.mode}"]
        if event.power_w is not None:
            parts.append(f", {event.power_w} W")
        if event.max_w is not None:
            parts.append(f", at most {event.max_w} W")
        if event.target_offset_w is not None:
            parts.append(f", grid target {event.target_offset_w:+.0f} W")
        until = f" until {fmt_local(event.ends_at, tz)}" if event.ends_at is not None else ""
        words = "".join(parts) + f") in force since {when}{until}"
    elif isinstance(event, StateChanged):
        words = f"state {event.from_state} -> {event.to_state} at {when} on {event.trigger}: {event.reason}"
    elif isinstance(event, MeterReading):
        words = f"meter read {_grid_words(event.grid_w)} at {when}{age}"
    elif isinstance(event, BatteryReading):
        words = (
            f"battery at {event.soc_pct:g} % SoC, {_battery_words(event.battery_w)}, "
            f"limits {event.max_discharge_w} W out / {event.max_charge_w} W in, socLimit {event.soc_limit}, "
            f"read at {when}{age}"
        )
    elif isinstance(event, LagEstimated):
        words = f"meter lag estimated at {event.lag_s:.1f} s (confidence {event.confidence:.2f}) at {when}"
    elif isinstance(event, DeadTimeEstimated):
        words = (
            f"battery dead time learned: {event.dead_time_s:.1f} s (confidence {event.confidence:.2f}, "
            f"{event.steps} writes) at {when}"
        )
    elif isinstance(event, RegulationFallback):
        words = f"regulation {'fell back' if event.active else 'back to normal'} at {when}: {event.reason}"
    elif isinstance(event, SourceStale):
        words = f"{event.source} went stale at {when} ({event.detail or 'no data'})"
    elif isinstance(event, SourceRecovered):
        words = f"{event.source} recovered at {when}"
    elif isinstance(event, DeviceFault):
        words = f"{event.source} fault {'raised' if event.active else 'cleared'} at {when}: {event.detail}"
    else:
        words = f"{event.kind} at {when}"
    data = event.model_dump(mode="json", exclude={"schedule"})
    return AuditStep(role=role, seq=stored.seq, at=event.at, kind=event.kind, words=words, data=data)


def _regulator_words(inputs: Mapping[str, Any], command: CommandIssued) -> str | None:
    if "load_estimate_w" not in inputs:
        return None
    lag = inputs.get("lag_s")
    source = inputs.get("lag_source")
    then = inputs.get("battery_then_w")
    load = inputs.get("load_estimate_w")
    offset = inputs.get("target_offset_w") or 0.0
    meter = inputs.get("meter_w")
    meter_words = _grid_words(float(meter)) if isinstance(meter, int | float) else "?"
    meter_age = _num(inputs.get("meter_age_s"), "s", "{:.1f}")
    return (
        f"the regulator took the meter's {meter_words} (age {meter_age}), "
        f"assumed the meter lags {_num(lag, 's', '{:.1f}')} ({source}), and the battery was "
        f"{_num(then)} at the moment the meter describes, so the household's net load was about "
        f"{_num(load)}; aiming for {_num(offset)} from the grid it set {command.command.battery_w:+d} W "
        f"(write: {inputs.get('reason', '?')}, {_num(inputs.get('write_tokens'), '', '{:.1f}')} write "
        f"tokens left)"
    )


def explain_at(events: Iterable[StoredEvent], at: datetime, timezone: str = DEFAULT_TIMEZONE) -> Audit:
    """Explain the command in force at ``at`` from ``events`` (oldest first)."""
    tz = zone(timezone)
    stored = list(events)
    command: StoredEvent | None = None
    for item in stored:
        if isinstance(item.event, CommandIssued) and item.at <= at:
            if command is None or item.seq > command.seq:
                command = item
    if command is None or not isinstance(command.event, CommandIssued):
        return Audit(
            asked_at=at,
            timezone=timezone,
            summary=f"At {fmt_local(at, tz)} no command had been issued yet (the battery kept its own "
            "setting).",
        )
    issued: CommandIssued = command.event
    latest: dict[str, StoredEvent] = {}
    device: str | None = None
    shares: BatterySharesAssigned | None = None
    next_command: StoredEvent | None = None
    since: list[AuditStep] = []
    for item in stored:
        kind = item.kind
        if item.seq < command.seq:
            if kind in CAUSE_KINDS:
                latest[kind] = item
            continue
        if item.seq == command.seq:
            continue
        event = item.event
        if isinstance(event, CommandResult) and device is None and event.command == issued.command:
            device = (
                f"the battery accepted it ({event.latency_ms:.0f} ms)"
                if event.ok
                else f"the write failed: {event.error}"
            )
        elif isinstance(event, BatterySharesAssigned) and shares is None and event.command == issued.command:
            shares = event
        elif isinstance(event, CommandNotApplied) and event.command == issued.command:
            device = f"the battery accepted it but did not apply it: {event.detail}"
        elif isinstance(event, CommandIssued) and item.at > at and next_command is None:
            next_command = item
        elif kind in SINCE_KINDS and item.at <= at:
            since.append(_step("since", item, tz, None))
    chain = [
        _step(role, latest[kind], tz, issued.at)
        for role, kind in (
            ("schedule", "schedule_loaded"),
            ("slot", "slot_changed"),
            ("state", "state_changed"),
            ("meter", "meter_reading"),
            ("battery", "battery_reading"),
            ("lag", "lag_estimated"),
            ("dead_time", "dead_time_estimated"),
            ("fallback", "regulation_fallback"),
        )
        if kind in latest
    ]
    inputs = dict(issued.inputs)
    stop = is_stop_command(inputs)
    lines = [
        f"At {fmt_local(at, tz)} the battery was commanded: {issued.command} "
        f"(issued {fmt_local(issued.at, tz)}, {(at - issued.at).total_seconds():.0f} s earlier"
        + (f"; in force until {fmt_local(next_command.at, tz)})" if next_command is not None else ")")
        + "."
    ]
    if stop:
        lines.append(f"The daemon sent it itself while stopping: {issued.reason}.")
    else:
        lines.append(
            f"Decided in state {issued.state} on {inputs.get('trigger', '?')}, because {issued.reason}."
        )
    if device is not None:
        lines.append(f"Then {device}.")
    if shares is not None:
        split = ", ".join(f"{name} {_num(watts)}" for name, watts in shares.shares_w.items())
        failed = "; ".join(f"{name}: {error}" for name, error in shares.errors.items())
        lines.append(f"Split over the batteries: {split}" + (f" (failed: {failed})" if failed else "") + ".")
    regulator = _regulator_words(inputs, issued)
    if regulator is not None:
        lines.append(regulator[0].upper() + regulator[1:] + ".")
    return Audit(
        asked_at=at,
        timezone=timezone,
        command=str(issued.command),
        battery_w=issued.command.battery_w,
        issued_at=issued.at,
        issued_seq=command.seq,
        state=issued.state,
        reason=issued.reason,
        trigger=str(inputs.get("trigger")) if inputs.get("trigger") is not None else None,
        inputs=inputs,
        device=device,
        shares_w=dict(shares.shares_w) if shares is not None else None,
        in_force_until=next_command.at if next_command is not None else None,
        next_command=str(next_command.event.command)
        if next_command is not None and isinstance(next_command.event, CommandIssued)
        else None,
        chain=chain,
        since=since,
        summary=" ".join(lines),
    )


_INPUT_LABELS: Final = (
    ("slot", "slot", ""),
    ("slot_mode", "slot mode", ""),
    ("soc_pct", "SoC", "%"),
    ("battery_w", "battery (last reading)", "W"),
    ("battery_age_s", "battery reading age", "s"),
    ("meter_w", "meter", "W"),
    ("meter_age_s", "meter reading age", "s"),
    ("lag_s", "meter lag used", "s"),
    ("lag_source", "lag from", ""),
    ("battery_then_w", "battery at the meter's moment", "W"),
    ("load_estimate_w", "household net load estimate", "W"),
    ("target_offset_w", "grid target", "W"),
    ("max_discharge_w", "discharge limit", "W"),
    ("max_charge_w", "charge limit", "W"),
    ("write_tokens", "write tokens", ""),
    ("reason", "write decision", ""),
)


def format_audit(audit: Audit) -> str:
    """The audit as text: the answer, the chain of causes, then the recorded inputs."""
    lines = [audit.summary]
    if audit.command is None:
        return lines[0]
    if audit.chain:
        lines += ["", "How it came about:"]
        lines += [f"  {i}. {step.role:<8} {step.words}" for i, step in enumerate(audit.chain, start=1)]
    if audit.since:
        lines += ["", "Since the command:"]
        lines += [f"  - {step.words}" for step in audit.since]
    if audit.inputs:
        lines += ["", "Inputs recorded with the command:"]
        known = set()
        for key, label, unit in _INPUT_LABELS:
            if key in audit.inputs:
                known.add(key)
                value = audit.inputs[key]
                lines.append(f"  {label:<30} {value}{(' ' + unit) if unit and value is not None else ''}")
        for key in sorted(set(audit.inputs) - known):
            lines.append(f"  {key:<30} {audit.inputs[key]}")
    return "\n".join(lines)
