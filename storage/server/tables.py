"""The server's tables as SQLAlchemy Core ``Table`` objects (the services use Core for speed)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from storage.server import models

__all__ = [
    "LOGIN_ATTEMPTS",
    "ROLES",
    "ROLLUPS",
    "SAMPLES",
    "SCHEDULES",
    "SESSIONS",
    "SITES",
    "SITE_EVENTS",
    "SITE_LOGS",
    "STATUS",
    "TOKENS",
    "USERS",
]

SITES = cast(Table, models.Site.__table__)
TOKENS = cast(Table, models.SiteToken.__table__)
USERS = cast(Table, models.User.__table__)
ROLES = cast(Table, models.UserRole.__table__)
SESSIONS = cast(Table, models.UserSession.__table__)
LOGIN_ATTEMPTS = cast(Table, models.LoginAttempt.__table__)
SCHEDULES = cast(Table, models.ScheduleVersion.__table__)
SITE_LOGS = cast(Table, models.SiteLog.__table__)
SITE_EVENTS = cast(Table, models.SiteEvent.__table__)
SAMPLES = cast(Table, models.TelemetrySample.__table__)
ROLLUPS = cast(Table, models.TelemetryRollup.__table__)
STATUS = cast(Table, models.SiteStatus.__table__)
