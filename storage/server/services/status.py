"""Site status: the last heartbeat a daemon posted, and how old it is."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from controller.domain.schedule import MAX_BATTERY_W
from storage.server.services.ingest import dialect_insert
from storage.server.services.sites import SiteRef
from storage.server.tables import STATUS

__all__ = ["device_limits", "read_status", "store_status"]


def store_status(
    engine: Engine, site: SiteRef, body: dict[str, Any], heartbeat_at: datetime, now: datetime
) -> None:
    """Replace the site's status with ``body``."""
    values = {"site_id": site.id, "body": json.dumps(body), "heartbeat_at": heartbeat_at, "received_at": now}
    with engine.begin() as connection:
        _upsert(connection, values)


def _upsert(connection: Connection, values: dict[str, Any]) -> None:
    statement = dialect_insert(connection, STATUS).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=["site_id"],
        set_={k: statement.excluded[k] for k in ("body", "heartbeat_at", "received_at")},
    )
    connection.execute(statement)


def read_status(engine: Engine, site: SiteRef, now: datetime, stale_after_s: float) -> dict[str, Any]:
    """The last status plus ``heartbeat_age_s`` and ``stale`` (no status yet counts as stale)."""
    with engine.connect() as connection:
        row = connection.execute(
            select(STATUS.c.body, STATUS.c.heartbeat_at, STATUS.c.received_at).where(
                STATUS.c.site_id == site.id
            )
        ).first()
    if row is None:
        return {
            "site": site.name,
            "state": None,
            "heartbeat_at": None,
            "heartbeat_age_s": None,
            "stale": True,
            "stale_after_s": stale_after_s,
            "received_at": None,
        }
    body: dict[str, Any] = json.loads(row[0])
    heartbeat: datetime = row[1] or row[2]
    age = max(0.0, (now - heartbeat).total_seconds())
    body.update(
        site=site.name,
        heartbeat_age_s=round(age, 3),
        stale=age > stale_after_s,
        stale_after_s=stale_after_s,
        received_at=row[2].isoformat(),
    )
    return body


def device_limits(engine: Engine, site: SiteRef) -> dict[str, int]:
    """The device maxima the site's daemon last reported (``max_charge_w``, ``max_discharge_w``).

    Only values within the physical range count (a status stored before the range was checked cannot
    lift the schedule's check).
    """
    with engine.connect() as connection:
        text = connection.execute(select(STATUS.c.body).where(STATUS.c.site_id == site.id)).scalar()
    if text is None:
        return {}
    body = json.loads(text)
    return {
        key: int(body[key])
        for key in ("max_charge_w", "max_discharge_w")
        if isinstance(body.get(key), int | float)
        and not isinstance(body.get(key), bool)
        and 0 < body[key] <= MAX_BATTERY_W
    }
