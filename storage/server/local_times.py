"""Times on the page: stored schedule times shown and edited in the schedule's time zone, losslessly.

A dated slot may be stored naive (local to the schedule) or with an offset (``Z``, ``+01:00``); a
recurring slot as ``HH:MM`` or ``HH:MM:SS``. The page shows every one as wall-clock time in the
schedule's zone (seconds only when there are any), and :func:`keep_unedited` puts the stored text back
for every field a person left as shown, so saving a form without edits changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["display_datetime", "display_time", "keep_unedited", "zone_of"]

DEFAULT_ZONE = "Europe/Amsterdam"


def zone_of(schedule: Mapping[str, Any]) -> ZoneInfo:
    """The schedule's time zone (the default zone when it names none or an unknown one)."""
    name = str(schedule.get("timezone") or DEFAULT_ZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_ZONE)


def _wall(moment: datetime | time) -> str:
    text = f"{moment.hour:02d}:{moment.minute:02d}"
    return text + f":{moment.second:02d}" if moment.second or moment.microsecond else text


def display_time(value: Any) -> str:
    """``HH:MM`` or ``HH:MM:SS`` of a stored local time (anything unparsable as it was)."""
    text = str(value or "")
    try:
        return _wall(time.fromisoformat(text))
    except ValueError:
        return text


def display_datetime(value: Any, zone: ZoneInfo) -> str:
    """A stored date-time as a ``datetime-local`` value in ``zone`` (an offset is converted, not dropped)."""
    text = str(value or "")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        moment = moment.astimezone(zone)
    return f"{moment.date().isoformat()}T{_wall(moment)}"


def _shown(kind: str, field: str, value: Any, zone: ZoneInfo) -> Any:
    if field in ("start", "end"):
        return display_time(value) if kind == "recurring" else display_datetime(value, zone)
    return value


def keep_unedited(
    kind: str, stored: Mapping[str, Any], edited: dict[str, Any], zone: ZoneInfo
) -> dict[str, Any]:
    """``edited`` with the stored value of every field shown unchanged; the stored slot if nothing changed.

    A planner's note (``plan``) has no field on the form: it stays while the slot is unchanged and goes
    once a person changes the slot (the note would no longer say why the slot is what it is).
    """
    merged = dict(edited)
    for field, value in stored.items():
        if field == "plan":
            continue
        if field in edited and edited[field] == _shown(kind, field, value, zone):
            merged[field] = value
        elif field == "days" and sorted(edited.get("days") or []) == sorted(value or []):
            merged[field] = value
    unchanged = {k: v for k, v in stored.items() if k != "plan" and v is not None}
    if {k: v for k, v in merged.items() if v is not None} == unchanged:
        return dict(stored)
    return merged
