"""Settings of the web server (what ``zsm serve`` and tests hand to :func:`storage.server.app.create_app`)."""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from controller.domain.schedule import MAX_SCHEDULE_BYTES
from controller.settings import Settings

__all__ = ["KEEP_ALIVE_S", "ServerConfig"]

KEEP_ALIVE_S: Final = 75.0
"""How long the server keeps an idle HTTP/1.1 connection open (uvicorn's ``timeout_keep_alive``, 5 s by
default): longer than a daemon's pause between uploads (5 s) and schedule checks (30 s), so each daemon keeps
one connection instead of a new TCP (and TLS) handshake for every exchange; 75 s as nginx's default."""


class ServerConfig(BaseModel):
    """Everything the server needs to know; defaults suit a small VPS behind a TLS proxy."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    database_url: str = Field(default="sqlite+pysqlite:///zsm-server.db", description="SQLAlchemy URL")
    migrate: bool = Field(default=True, description="Run the Alembic migrations when the app starts")
    secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto", description="Secure flag on cookies: auto = when the request came over https"
    )
    session_ttl_s: int = Field(default=12 * 3600, gt=0, description="Lifetime of a login session")
    heartbeat_stale_s: float = Field(
        default=180.0, gt=0, description="Status is stale past this heartbeat age"
    )
    max_body_bytes: int = Field(
        default=MAX_SCHEDULE_BYTES, gt=0, description="Largest request body (except ingest)"
    )
    max_ingest_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest ingest request body")
    max_ingest_events: int = Field(default=5000, gt=0, description="Most events in one ingest request")
    ingest_rate_per_s: float = Field(default=20.0, gt=0, description="Sustained ingest requests/s per site")
    ingest_burst: int = Field(default=100, gt=0, description="Ingest requests a site may send in a burst")
    api_rate_per_s: float = Field(default=50.0, gt=0, description="Other API requests/s per site token")
    api_burst: int = Field(default=200, gt=0, description="Burst of other API requests per site token")
    login_max_failures: int = Field(
        default=5, gt=0, description="Failed logins for one account from one address before it must wait"
    )
    login_client_max_failures: int = Field(
        default=20, gt=0, description="Failed logins from one client address before it is refused"
    )
    login_window_s: int = Field(default=15 * 60, gt=0, description="Window in which failures are counted")
    telemetry_max_points: int = Field(default=5000, gt=0, description="Most points a telemetry query returns")
    plan_sites: tuple[str, ...] = Field(
        default=(), description="Sites whose schedule the server plans from prices (see README 'The planner')"
    )
    planner_settings: Settings | None = Field(
        default=None, description="[planner], [prices] and [limits] used to plan those sites"
    )
