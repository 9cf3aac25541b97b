"""What the log tools share: opening a log read-only, event-kind roles and time formatting."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from controller.settings import Settings
from storage.event_log import EventLog

__all__ = [
    "CARRY_KINDS",
    "INPUT_KINDS",
    "LogFileError",
    "fmt_local",
    "is_stop_command",
    "last_event_time",
    "open_log",
    "settings_with",
    "zone",
]

#: Kinds the daemon feeds to ``core.handle`` (worker results, meter and battery polls).
INPUT_KINDS: Final = frozenset(
    {
        "meter_reading",
        "battery_reading",
        "schedule_loaded",
        "schedule_rejected",
        "source_stale",
        "source_recovered",
        "device_fault",
    }
)
#: Device outcomes of a tick's commands; the daemon logs them at the start of the next tick.
CARRY_KINDS: Final = frozenset({"command_result", "command_not_applied", "device_write_counted"})


class LogFileError(Exception):
    """The log file is missing or cannot be read."""


SQLITE_MAGIC: Final = b"SQLite format 3\x00"


def open_log(path: Path | str, site_id: str = "home") -> EventLog:
    """Open an existing SQLite event log without migrating it (the tools never write)."""
    file = Path(path)
    if not file.is_file():
        raise LogFileError(f"no event log at {file}")
    with file.open("rb") as head:
        if head.read(len(SQLITE_MAGIC)) != SQLITE_MAGIC:
            raise LogFileError(f"{file} is not an SQLite database (give the daemon's event log, e.g. zsm.db)")
    try:
        log = EventLog.open_sqlite(file, site_id=site_id, migrate=False)
    except Exception as err:  # noqa: BLE001 - any failure here means: not a log we can read
        raise LogFileError(f"{file} cannot be read as a zsm event log: {err.__class__.__name__}") from err
    try:
        log.last_seq()
    except Exception as err:  # noqa: BLE001
        log.close()
        raise LogFileError(f"{file} is an SQLite database but holds no zsm event log") from err
    return log


def is_stop_command(inputs: Mapping[str, object]) -> bool:
    """A standby the daemon sent outside the core (stop, crash): ``inputs`` carries ``stop``."""
    return bool(inputs.get("stop"))


def zone(name: str) -> tzinfo:
    """An IANA zone by name."""
    return ZoneInfo(name)


def fmt_local(at: datetime | None, tz: tzinfo, *, date: bool = True) -> str:
    """``2026-11-24 18:03:05 CET`` (or only the time) in ``tz``; ``-`` for None."""
    if at is None:
        return "-"
    local = at.astimezone(tz)
    text = local.strftime("%Y-%m-%d %H:%M:%S" if date else "%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond // 1000:03d}"
    name = local.tzname() or ""
    return f"{text} {name}".rstrip() if tz is not UTC else f"{text} UTC"


def settings_with(settings: Settings, assignments: Sequence[str]) -> Settings:
    """``settings`` with ``section.field=value`` overrides (values parsed as JSON, else taken as text)."""
    data = settings.model_dump()
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        path = key.strip().split(".")
        if not sep or not all(path):
            raise ValueError(f"expected section.field=value, got {assignment!r}")
        try:
            value: object = json.loads(text)
        except json.JSONDecodeError:
            value = text
        target = data
        for part in path[:-1]:
            inner = target.get(part)
            if not isinstance(inner, dict):
                raise ValueError(f"unknown setting {key!r}")
            target = inner
        if path[-1] not in target:
            raise ValueError(f"unknown setting {key!r}")
        target[path[-1]] = value
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise ValueError(str(err)) from err


def last_event_time(log: EventLog) -> datetime | None:
    """When the newest readable event happened."""
    seq = log.last_seq()
    while seq > 0:
        found = log.read_after(seq - 1, limit=1)
        if found:
            return found[0].at
        seq -= 1
    return None
