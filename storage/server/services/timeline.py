"""What the timeline page draws: the schedule as spans over a range, and day-ahead prices if any arrived."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from storage.server.services.sites import SiteRef
from storage.server.tables import SITE_EVENTS

__all__ = ["MAX_PRICE_EVENTS", "MAX_SPANS", "price_intervals", "schedule_spans"]

MAX_SPANS = 500
MAX_PRICE_EVENTS = 50
PRICE_LOOKBACK = timedelta(days=3)
_KEY = re.compile(r"^(recurring|dated)\[(\d+)\]$")


def schedule_spans(schedule: Any, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The slots in force over ``[start, end)`` of a validated ``Schedule``, in order (default included).

    Each span names its slot (``kind``, ``index``) so that the page can edit it; at most :data:`MAX_SPANS`.
    """
    spans: list[dict[str, Any]] = []
    at = start
    while at < end and len(spans) < MAX_SPANS:
        active = schedule.slot_at(at)
        change = schedule.next_change_after(at)
        until = end if change is None else min(change, end)
        match = _KEY.match(active.key)
        kind, index = (match.group(1), int(match.group(2))) if match else ("default", None)
        slot = schedule.default if kind == "default" else getattr(schedule, kind)[index]
        spans.append(
            {
                "start": at,
                "end": until,
                "kind": kind,
                "index": index,
                "id": active.slot_id,
                "mode": str(active.mode),
                "power_w": active.power_w,
                "max_w": active.max_w,
                "target_offset_w": active.target_offset_w,
                "plan": None if slot.plan is None else slot.plan.model_dump(mode="json"),
            }
        )
        at = until
    return spans


def price_intervals(engine: Engine, site: SiteRef, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Import/export prices overlapping ``[start, end)`` from the site's ``prices_received`` events.

    A later event's interval replaces an earlier one with the same start. Empty when no prices arrived.
    """
    statement = (
        select(SITE_EVENTS.c.payload)
        .where(
            SITE_EVENTS.c.site_id == site.id,
            SITE_EVENTS.c.kind == "prices_received",
            SITE_EVENTS.c.at >= start - PRICE_LOOKBACK,
            SITE_EVENTS.c.at < end,
        )
        .order_by(SITE_EVENTS.c.at.desc())
        .limit(MAX_PRICE_EVENTS)
    )
    with engine.connect() as connection:
        payloads = [json.loads(row[0]) for row in connection.execute(statement)]
    by_start: dict[datetime, dict[str, Any]] = {}
    for payload in reversed(payloads):  # oldest first: later events win
        for item in payload.get("intervals") or ():
            try:
                begin = datetime.fromisoformat(str(item["start"]))
                finish = datetime.fromisoformat(str(item["end"]))
                price = float(item["import_eur_per_kwh"])
            except (KeyError, TypeError, ValueError):
                continue
            if begin.tzinfo is None or finish.tzinfo is None or not (begin < end and finish > start):
                continue
            export = item.get("export_eur_per_kwh")
            by_start[begin] = {
                "start": begin,
                "end": finish,
                "import_eur_per_kwh": price,
                "export_eur_per_kwh": None if export is None else float(export),
            }
    return [by_start[key] for key in sorted(by_start)]
