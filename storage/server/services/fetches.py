"""The server's record of each daemon's last schedule fetch, and when it will pick up an edit.

Kept in memory per server process (a fetch every ``check_interval_s`` is too frequent to be worth a
database write); after a server restart the record is back with the daemon's next fetch.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

__all__ = ["DEFAULT_CHECK_INTERVAL_S", "Fetch", "ScheduleFetches", "pickup"]

#: The daemon's ``schedule.check_interval_s`` default, used until its status names its own.
DEFAULT_CHECK_INTERVAL_S = 30.0


@dataclass(frozen=True, slots=True)
class Fetch:
    """A daemon asked for the schedule at ``at`` and then held the version ``etag``."""

    at: datetime
    etag: str


class ScheduleFetches:
    """Last fetch per site id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[int, Fetch] = {}

    def record(self, site_id: int, at: datetime, etag: str) -> None:
        with self._lock:
            self._last[site_id] = Fetch(at, etag)

    def last(self, site_id: int) -> Fetch | None:
        with self._lock:
            return self._last.get(site_id)


def check_interval(status: dict[str, Any]) -> float:
    """The interval the daemon reported in its status, else the default (bounded to 1 s … 1 h)."""
    value = status.get("schedule_check_interval_s")
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= 3600:
        return float(value)
    return DEFAULT_CHECK_INTERVAL_S


def pickup(fetch: Fetch | None, interval_s: float, current_etag: str, now: datetime) -> dict[str, Any]:
    """When the daemon sees the current schedule: ``has_current``, ``next_check_at``, ``overdue``."""
    if fetch is None:
        return {
            "last_fetch_at": None,
            "check_interval_s": interval_s,
            "next_check_at": None,
            "has_current": False,
            "overdue": False,
        }
    next_check = fetch.at + timedelta(seconds=interval_s)
    return {
        "last_fetch_at": fetch.at.isoformat(),
        "check_interval_s": interval_s,
        "next_check_at": next_check.isoformat(),
        "has_current": fetch.etag == current_etag,
        "overdue": now > next_check + timedelta(seconds=interval_s),
    }
