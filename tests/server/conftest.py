"""Fixtures of the server tests: an app on SQLite and on PostgreSQL, two sites, three people."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache

import pytest
from fastapi.testclient import TestClient

from controller.clock import ManualClock
from storage.database import sqlite_url
from storage.server import security
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services import users as users_service
from storage.server.services.sites import create_site
from storage.server.services.users import create_user, set_role

START = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"


@dataclass
class Server:
    """An app with its client, clock and the credentials made for the test."""

    app: object
    client: TestClient
    clock: ManualClock
    tokens: dict[str, str] = field(default_factory=dict)

    def bearer(self, site: str = "home") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[site]}"}

    def login(self, username: str, password: str = PASSWORD) -> str:
        """Log ``username`` in on the client; returns the session's CSRF token."""
        reply = self.client.post(
            "/login", data={"username": username, "password": password, "next": "/"}, follow_redirects=False
        )
        assert reply.status_code == 303, reply.text
        page = self.client.get("/sites/home" if username != "carol" else "/sites/away")
        match = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
        assert match, page.text
        return match.group(1)


@cache
def _cached_hash(password: str) -> str:
    return security.hash_password(password)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same tests on SQLite (a temp file) and PostgreSQL (a fresh schema, skipped when unreachable)."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path_factory.mktemp("server") / "server.db")
    url: str = request.getfixturevalue("postgres_url")
    return url


def make_config(database_url: str, **overrides: object) -> ServerConfig:
    return ServerConfig(database_url=database_url, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def server_config() -> dict[str, object]:
    """Overrides of :class:`ServerConfig` for one test (edit before using ``server``)."""
    return {}


@pytest.fixture
def server(
    database_url: str, server_config: dict[str, object], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Server]:
    monkeypatch.setattr(users_service, "hash_password", _cached_hash)
    clock = ManualClock(START)
    app = create_app(make_config(database_url, **server_config), clock=clock)
    engine = app.state.zsm.engine
    tokens = {}
    for name in ("home", "away"):
        _site, tokens[name] = create_site(engine, name, clock.now())
    for username, site, role in (
        ("alice", "home", "editor"),
        ("bob", "home", "viewer"),
        ("carol", "away", "editor"),
    ):
        create_user(engine, username, PASSWORD, clock.now())
        set_role(engine, username, site, role)
    with TestClient(app, base_url="http://testserver") as client:
        yield Server(app, client, clock, tokens)
    engine.dispose()
