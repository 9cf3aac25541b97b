"""When a site's daemon will pick up an edit: its last fetch, its check interval, the current version."""

from __future__ import annotations

from typing import Any

from storage.server.context import ServerContext
from storage.server.local_times import zone_of
from storage.server.services.fetches import check_interval, pickup
from storage.server.services.schedules import ScheduleDoc
from storage.server.services.sites import SiteRef
from storage.server.services.status import read_status

__all__ = ["schedule_pickup"]


def schedule_pickup(context: ServerContext, site: SiteRef, doc: ScheduleDoc) -> dict[str, Any]:
    """:func:`pickup` for ``site`` with its daemon's reported check interval and the schedule's zone."""
    now = context.clock.now()
    status = read_status(context.engine, site, now, context.config.heartbeat_stale_s)
    info = pickup(context.schedule_fetches.last(site.id), check_interval(status), doc.etag, now)
    return {**info, "site": site.name, "version": doc.version, "timezone": zone_of(doc.body).key}
