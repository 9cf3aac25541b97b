"""People: accounts, per-site roles, login with rate limiting and lockout, sessions."""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from storage.server.config import ServerConfig
from storage.server.errors import NotFound, RateLimited, ServerError, Unauthorized
from storage.server.security import ROLES as ROLE_NAMES
from storage.server.security import hash_password, hash_token, new_token, verify_password
from storage.server.services.sites import get_site
from storage.server.tables import LOGIN_ATTEMPTS, ROLES, SESSIONS, SITES, USERS

__all__ = [
    "Principal",
    "create_session",
    "create_user",
    "delete_session",
    "login",
    "principal_for_session",
    "set_password",
    "set_role",
]

LOGGER = logging.getLogger(__name__)
USER_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class Principal:
    """A logged-in person: user, roles per site name, and the session's CSRF token."""

    user_id: int
    username: str
    roles: dict[str, str] = field(default_factory=dict)
    csrf_token: str = ""

    def role_on(self, site: str) -> str | None:
        return self.roles.get(site)


def create_user(engine: Engine, username: str, password: str, now: datetime) -> int:
    """Create an account; returns its id."""
    if not USER_NAME.match(username):
        raise ServerError("user names are 1-64 of letters, digits and _ . @ -")
    if len(password) < MIN_PASSWORD:
        raise ServerError(f"passwords need at least {MIN_PASSWORD} characters")
    try:
        with engine.begin() as connection:
            user_id = connection.execute(
                insert(USERS)
                .values(username=username, password_hash=hash_password(password), created_at=now)
                .returning(USERS.c.id)
            ).scalar_one()
    except IntegrityError as err:
        raise ServerError(f"user {username!r} exists already") from err
    return int(user_id)


def _user_id(engine: Engine, username: str) -> int:
    with engine.connect() as connection:
        value = connection.execute(select(USERS.c.id).where(USERS.c.username == username)).scalar()
    if value is None:
        raise NotFound(f"no user {username!r}")
    return int(value)


def set_password(engine: Engine, username: str, password: str) -> None:
    """Replace a user's password (and lift a lockout)."""
    if len(password) < MIN_PASSWORD:
        raise ServerError(f"passwords need at least {MIN_PASSWORD} characters")
    user_id = _user_id(engine, username)
    with engine.begin() as connection:
        connection.execute(
            update(USERS)
            .where(USERS.c.id == user_id)
            .values(password_hash=hash_password(password), locked_until=None)
        )


def set_role(engine: Engine, username: str, site_name: str, role: str | None) -> None:
    """Give ``username`` ``role`` (viewer / editor) on ``site_name``; ``None`` removes access."""
    if role is not None and role not in ROLE_NAMES:
        raise ServerError(f"role must be one of {', '.join(ROLE_NAMES)}")
    user_id = _user_id(engine, username)
    site = get_site(engine, site_name)
    with engine.begin() as connection:
        connection.execute(delete(ROLES).where(ROLES.c.user_id == user_id, ROLES.c.site_id == site.id))
        if role is not None:
            connection.execute(insert(ROLES).values(user_id=user_id, site_id=site.id, role=role))


def _failures_since(engine: Engine, since: datetime, **match: str) -> tuple[int, datetime | None]:
    """Failed attempts matching ``match`` (column=value) since ``since``: how many, and the oldest's time."""
    conditions = [LOGIN_ATTEMPTS.c[column] == value for column, value in match.items()]
    statement = select(func.count(), func.min(LOGIN_ATTEMPTS.c.at)).where(
        *conditions, LOGIN_ATTEMPTS.c.at >= since, LOGIN_ATTEMPTS.c.ok.is_(False)
    )
    with engine.connect() as connection:
        count, oldest = connection.execute(statement).one()
    return int(count or 0), oldest


def _throttle(count: int, oldest: datetime | None, limit: int, now: datetime, window_s: int) -> float | None:
    """Seconds to wait when ``count`` failures reached ``limit`` (until the oldest leaves the window)."""
    if count < limit or oldest is None:
        return None
    return max(1.0, (oldest + timedelta(seconds=window_s) - now).total_seconds())


def login(
    engine: Engine, username: str, password: str, client: str, now: datetime, config: ServerConfig
) -> int:
    """Check a password, throttled per client address and account; returns the user id.

    Failures count per (address, account) pair: after ``login_max_failures`` in the window that pair
    waits (``Retry-After``) until the oldest failure leaves the window, while the owner logging in from
    elsewhere is not locked out. An address failing on many accounts is throttled as a whole. Attempts
    older than the window are pruned. Raises :class:`RateLimited` while throttled and
    :class:`Unauthorized` on a wrong user name or password (the same message for both).
    """
    username = username[:64]
    client = client[:64]
    window = config.login_window_s
    since = now - timedelta(seconds=window)
    with engine.begin() as connection:
        connection.execute(delete(LOGIN_ATTEMPTS).where(LOGIN_ATTEMPTS.c.at < since))
    wait = _throttle(
        *_failures_since(engine, since, client=client), config.login_client_max_failures, now, window
    )
    if wait is not None:
        raise RateLimited("too many failed logins from this address; try again later", wait)
    pair = _failures_since(engine, since, client=client, username=username)
    wait = _throttle(*pair, config.login_max_failures, now, window)
    if wait is not None:
        raise RateLimited("too many failed logins for this account from this address; try again later", wait)
    with engine.connect() as connection:
        row = connection.execute(
            select(USERS.c.id, USERS.c.password_hash).where(USERS.c.username == username)
        ).first()
    ok = verify_password(None if row is None else str(row[1]), password)
    with engine.begin() as connection:
        connection.execute(insert(LOGIN_ATTEMPTS).values(username=username, client=client, at=now, ok=ok))
    if ok and row is not None:
        return int(row[0])
    if pair[0] + 1 >= config.login_max_failures:
        LOGGER.warning("logins of %r from %s throttled after repeated failures", username, client)
    raise Unauthorized("wrong user name or password")


def create_session(engine: Engine, user_id: int, now: datetime, config: ServerConfig) -> str:
    """A new session for ``user_id``; returns the cookie value (stored only hashed)."""
    token = new_token("s_")
    with engine.begin() as connection:
        connection.execute(delete(SESSIONS).where(SESSIONS.c.expires_at < now))
        connection.execute(
            insert(SESSIONS).values(
                token_hash=hash_token(token),
                user_id=user_id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + timedelta(seconds=config.session_ttl_s),
            )
        )
    return token


def delete_session(engine: Engine, token: str) -> None:
    """Log out: forget the session."""
    with engine.begin() as connection:
        connection.execute(delete(SESSIONS).where(SESSIONS.c.token_hash == hash_token(token)))


def principal_for_session(engine: Engine, token: str, now: datetime) -> Principal | None:
    """The person behind a session cookie, or ``None`` when it is unknown or expired."""
    statement = (
        select(USERS.c.id, USERS.c.username, SESSIONS.c.csrf_token)
        .join(SESSIONS, SESSIONS.c.user_id == USERS.c.id)
        .where(SESSIONS.c.token_hash == hash_token(token), SESSIONS.c.expires_at > now)
    )
    with engine.connect() as connection:
        row = connection.execute(statement).first()
        if row is None:
            return None
        roles = connection.execute(
            select(SITES.c.name, ROLES.c.role)
            .join(ROLES, ROLES.c.site_id == SITES.c.id)
            .where(ROLES.c.user_id == row[0])
        ).all()
    return Principal(int(row[0]), str(row[1]), {str(r[0]): str(r[1]) for r in roles}, str(row[2]))
