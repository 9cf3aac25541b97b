"""Sites and their controller tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.server.errors import NotFound, ServerError
from storage.server.security import hash_token, new_token
from storage.server.tables import ROLLUPS, SAMPLES, SITE_EVENTS, SITES, TOKENS

__all__ = [
    "SiteRef",
    "add_site_token",
    "create_site",
    "get_site",
    "list_sites",
    "remove_site",
    "revoke_tokens",
    "site_for_token",
]

SITE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


@dataclass(frozen=True, slots=True)
class SiteRef:
    """A site's database id and name."""

    id: int
    name: str


def create_site(engine: Engine, name: str, now: datetime) -> tuple[SiteRef, str]:
    """Create site ``name`` and its first controller token; returns the site and the token (shown once)."""
    if not SITE_NAME.match(name):
        raise ServerError("site names are 1-64 of a-z, 0-9, '-' and '_', starting with a letter or digit")
    try:
        with engine.begin() as connection:
            site_id = connection.execute(
                insert(SITES).values(name=name, created_at=now, ingested_seq=0).returning(SITES.c.id)
            ).scalar_one()
    except IntegrityError as err:
        raise ServerError(f"site {name!r} exists already") from err
    site = SiteRef(int(site_id), name)
    return site, add_site_token(engine, site, now)


def add_site_token(engine: Engine, site: SiteRef, now: datetime) -> str:
    """A new controller token for ``site`` (stored hashed); the plain token is returned only here."""
    token = new_token()
    with engine.begin() as connection:
        connection.execute(
            insert(TOKENS).values(site_id=site.id, token_hash=hash_token(token), created_at=now)
        )
    return token


def get_site(engine: Engine, name: str) -> SiteRef:
    """The site called ``name``, or :class:`NotFound`."""
    with engine.connect() as connection:
        row = connection.execute(select(SITES.c.id, SITES.c.name).where(SITES.c.name == name)).first()
    if row is None:
        raise NotFound(f"no site {name!r}")
    return SiteRef(int(row[0]), str(row[1]))


def list_sites(engine: Engine) -> list[SiteRef]:
    """Every site, by name."""
    with engine.connect() as connection:
        rows = connection.execute(select(SITES.c.id, SITES.c.name).order_by(SITES.c.name)).all()
    return [SiteRef(int(r[0]), str(r[1])) for r in rows]


def site_for_token(engine: Engine, token: str) -> SiteRef | None:
    """The site a (non-revoked) controller token belongs to."""
    statement = (
        select(SITES.c.id, SITES.c.name)
        .join(TOKENS, TOKENS.c.site_id == SITES.c.id)
        .where(TOKENS.c.token_hash == hash_token(token), TOKENS.c.revoked_at.is_(None))
    )
    with engine.connect() as connection:
        row = connection.execute(statement).first()
    return None if row is None else SiteRef(int(row[0]), str(row[1]))


def revoke_tokens(engine: Engine, site: SiteRef, now: datetime, token: str | None = None) -> int:
    """Revoke ``token`` of ``site``, or every active token of it; returns how many were revoked.

    A running server may still accept a revoked token for up to a minute (its token cache).
    """
    conditions = [TOKENS.c.site_id == site.id, TOKENS.c.revoked_at.is_(None)]
    if token is not None:
        conditions.append(TOKENS.c.token_hash == hash_token(token))
    with engine.begin() as connection:
        result = connection.execute(update(TOKENS).where(*conditions).values(revoked_at=now))
    return int(result.rowcount or 0)


def remove_site(engine: Engine, site: SiteRef) -> None:
    """Delete ``site`` with everything of it: tokens, roles, schedules, status, logs, events, telemetry."""
    with engine.begin() as connection:
        for table in (SITE_EVENTS, SAMPLES, ROLLUPS):  # no foreign key on the high-volume tables
            connection.execute(delete(table).where(table.c.site_id == site.id))
        connection.execute(delete(SITES).where(SITES.c.id == site.id))  # the rest cascades
