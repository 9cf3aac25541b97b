"""Schedule versions: read the current one (with its ETag), store a new one under If-Match, history."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from storage.server.errors import NotFound, PreconditionFailed, PreconditionRequired
from storage.server.schedule_model import default_schedule
from storage.server.services.sites import SiteRef
from storage.server.tables import SCHEDULES

__all__ = ["ScheduleDoc", "current_schedule", "get_version", "list_versions", "make_etag", "put_schedule"]


@dataclass(frozen=True, slots=True)
class ScheduleDoc:
    """One schedule version (version 0 is the built-in default before the first save)."""

    version: int
    etag: str
    body: dict[str, Any]
    author: str | None
    created_at: datetime | None


def canonical_json(body: dict[str, Any]) -> str:
    """Compact, key-sorted JSON (what is stored and hashed)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"))


def make_etag(version: int, text: str) -> str:
    """A strong ETag naming the version and the content."""
    return f'"{version}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"'


def _doc(row: Any) -> ScheduleDoc:
    return ScheduleDoc(int(row.version), str(row.etag), json.loads(row.body), str(row.author), row.created_at)


def current_schedule(engine: Engine, site: SiteRef) -> ScheduleDoc:
    """The newest version of ``site``'s schedule (or the default as version 0)."""
    statement = (
        select(SCHEDULES).where(SCHEDULES.c.site_id == site.id).order_by(SCHEDULES.c.version.desc()).limit(1)
    )
    with engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        body = default_schedule()
        return ScheduleDoc(0, make_etag(0, canonical_json(body)), body, None, None)
    return _doc(row)


def _etag_matches(if_match: str, etag: str) -> bool:
    candidates = [part.strip().removeprefix("W/") for part in if_match.split(",")]
    return "*" in candidates or etag in candidates


def put_schedule(
    engine: Engine, site: SiteRef, body: dict[str, Any], if_match: str | None, author: str, now: datetime
) -> ScheduleDoc:
    """Store ``body`` (already validated) as the next version if ``if_match`` names the current one."""
    if not if_match:
        raise PreconditionRequired("If-Match is required: send the ETag of the schedule you edited")
    current = current_schedule(engine, site)
    if not _etag_matches(if_match, current.etag):
        raise PreconditionFailed(
            f"the schedule changed since you loaded it (now version {current.version}); reload and redo"
        )
    text = canonical_json(body)
    version = current.version + 1
    etag = make_etag(version, text)
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(SCHEDULES).values(
                    site_id=site.id, version=version, body=text, etag=etag, author=author, created_at=now
                )
            )
    except IntegrityError as err:  # a concurrent writer took this version number first
        raise PreconditionFailed("the schedule changed while you saved; reload and redo") from err
    return ScheduleDoc(version, etag, json.loads(text), author, now)


def list_versions(engine: Engine, site: SiteRef, limit: int = 200) -> list[ScheduleDoc]:
    """Newest first: every stored version (bodies included)."""
    statement = (
        select(SCHEDULES)
        .where(SCHEDULES.c.site_id == site.id)
        .order_by(SCHEDULES.c.version.desc())
        .limit(limit)
    )
    with engine.connect() as connection:
        return [_doc(row) for row in connection.execute(statement)]


def get_version(engine: Engine, site: SiteRef, version: int) -> ScheduleDoc:
    """Version ``version`` of ``site``'s schedule."""
    statement = select(SCHEDULES).where(SCHEDULES.c.site_id == site.id, SCHEDULES.c.version == version)
    with engine.connect() as connection:
        row = connection.execute(statement).first()
    if row is None:
        raise NotFound(f"no schedule version {version}")
    return _doc(row)


def count_versions(engine: Engine, site: SiteRef) -> int:
    """How many versions ``site`` has stored."""
    statement = select(func.count()).select_from(SCHEDULES).where(SCHEDULES.c.site_id == site.id)
    with engine.connect() as connection:
        return int(connection.execute(statement).scalar() or 0)
