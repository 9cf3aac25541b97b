"""Tables of the web server (sites, tokens, users, sessions, schedule versions, ingested events, status).

Times are :class:`~storage.schema.UTCMicros` (BIGINT microseconds, UTC) like the event log. Secrets
(controller tokens, session tokens) are stored only as SHA-256 hashes; passwords as argon2 hashes.
The three high-volume tables (``site_events``, ``telemetry_samples``, ``telemetry_rollups``) carry
no foreign key to ``sites``: a per-row check would cost more than the insert itself, ``site_id``
always comes from an authenticated token, and sites are never deleted. Telemetry is derived from
ingested events on the way in: one sparse sample per reading or command
(``telemetry_samples``) plus rollups per 10 s / 1 min / 1 h (``telemetry_rollups``) so that a chart of a
year is read from a few thousand rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema import Base, UTCMicros

__all__ = [
    "LoginAttempt",
    "ScheduleVersion",
    "Site",
    "SiteEvent",
    "SiteLog",
    "SiteStatus",
    "SiteToken",
    "TelemetryRollup",
    "TelemetrySample",
    "User",
    "UserRole",
    "UserSession",
]


class Site(Base):
    """One home (a controller and its battery)."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    # the cursor of the site's newest log (each log's own cursor is in site_logs)
    ingested_seq: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")


class SiteToken(Base):
    """A controller token of one site (SHA-256 of a 256-bit random secret)."""

    __tablename__ = "site_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCMicros(), nullable=True)


class User(Base):
    """A person who logs in to the web page."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    locked_until: Mapped[datetime | None] = mapped_column(UTCMicros(), nullable=True)


class UserRole(Base):
    """A user's role (``viewer`` or ``editor``) on one site."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), nullable=False)


class UserSession(Base):
    """A login session (SHA-256 of the cookie value) with its CSRF token."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)


class LoginAttempt(Base):
    """One login attempt (for rate limiting and lockout)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    client: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    ok: Mapped[bool] = mapped_column(Boolean, nullable=False)

    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),
    )


class ScheduleVersion(Base):
    """Every accepted schedule of a site, numbered from 1, with its author and time."""

    __tablename__ = "schedule_versions"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    etag: Mapped[str] = mapped_column(String(80), nullable=False)
    author: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)


class SiteLog(Base):
    """One event log of a site (a reinstalled daemon starts a new one): its identity and cursor.

    ``log_id`` is the daemon's log identity (32 hex digits), or ``""`` for events stored before logs
    had one. Every seq ``first_seq..ingested_seq`` of the log is stored (or rejected with a reason).
    """

    __tablename__ = "site_logs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), nullable=False)
    log_id: Mapped[str] = mapped_column(String(32), nullable=False)
    first_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    ingested_seq: Mapped[int] = mapped_column(BigInteger, nullable=False)
    first_seen_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)

    __table_args__ = (UniqueConstraint("site_id", "log_id"),)


class SiteEvent(Base):
    """An event forwarded by a site's daemon, keyed by its log (:class:`SiteLog` id) and the log's ``seq``."""

    __tablename__ = "site_events"

    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    log: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
    kind: Mapped[str] = mapped_column(String(64), nullable=False)
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    schema_version: Mapped[int] = mapped_column(SmallInteger, nullable=False)
    software_version: Mapped[str] = mapped_column(String(32), nullable=False)

    # audits and slot spans look events up by kind and time
    __table_args__ = (Index("ix_site_events_site_id_kind_at", "site_id", "kind", "at"),)


class TelemetrySample(Base):
    """One sample derived from a reading or command event (columns not measured by it are NULL)."""

    __tablename__ = "telemetry_samples"

    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # microseconds (raw for fast bucketing)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    grid_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    battery_w: Mapped[float | None] = mapped_column(Float, nullable=True)
    soc_pct: Mapped[float | None] = mapped_column(Float, nullable=True)
    setpoint_w: Mapped[float | None] = mapped_column(Float, nullable=True)


class TelemetryRollup(Base):
    """Aggregates of the samples of one site over one period of ``level_s`` seconds starting at ``start``."""

    __tablename__ = "telemetry_rollups"

    site_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    level_s: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    start: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # microseconds
    grid_n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    grid_sum: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    grid_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    grid_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    battery_n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    battery_sum: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    battery_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    battery_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    soc_n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    soc_sum: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    soc_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    soc_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    setpoint_n: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    setpoint_sum: Mapped[float] = mapped_column(Float, nullable=False, default=0.0)
    setpoint_min: Mapped[float | None] = mapped_column(Float, nullable=True)
    setpoint_max: Mapped[float | None] = mapped_column(Float, nullable=True)


class SiteStatus(Base):
    """The last status a site's daemon posted."""

    __tablename__ = "site_status"

    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCMicros(), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UTCMicros(), nullable=False)
