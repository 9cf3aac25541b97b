"""``zsm site revoke-token`` / ``remove``, the plain-HTTP warning of ``zsm serve``, the 0600 store."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from controller.cli import main
from controller.cli.serve import plain_http_warning
from storage.database import create_db_engine, sqlite_url
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.sites import get_site, site_for_token
from storage.server.tables import SAMPLES, SITE_EVENTS, SITE_LOGS, TOKENS

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _add_site(url: str, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["site", "add", name, "--database-url", url]) == 0
    return capsys.readouterr().out.strip().splitlines()[-1]


def test_revoke_token_stops_it_and_only_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(tmp_path / "server.db")
    first = _add_site(url, "home", capsys)
    assert main(["site", "token", "home", "--database-url", url]) == 0
    second = capsys.readouterr().out.strip()
    assert main(["site", "revoke-token", "home", "--token", first, "--database-url", url]) == 0
    assert "revoked 1 token" in capsys.readouterr().out
    engine = create_db_engine(url)
    try:
        assert site_for_token(engine, first) is None
        assert site_for_token(engine, second) is not None
        assert main(["site", "revoke-token", "home", "--database-url", url]) == 0  # all that are left
        assert site_for_token(engine, second) is None
        assert main(["site", "revoke-token", "home", "--database-url", url]) == 1  # none left
    finally:
        engine.dispose()


def test_remove_deletes_the_site_and_everything_of_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "server.db")
    _add_site(url, "home", capsys)
    _add_site(url, "away", capsys)
    engine = create_db_engine(url)
    try:
        for name in ("home", "away"):
            event = IngestEvent(1, T0, "meter_reading", {"grid_w": 5.0}, 1, "t")
            ingest_events(engine, get_site(engine, name), [event], log_id="c" * 32)
        assert main(["site", "remove", "home", "--database-url", url]) == 1  # not without --yes
        assert main(["site", "remove", "home", "--yes", "--database-url", url]) == 0
        assert main(["site", "list", "--database-url", url]) == 0
        assert capsys.readouterr().out.split()[-1] == "away"
        with engine.connect() as connection:
            for table in (SITE_EVENTS, SAMPLES, SITE_LOGS, TOKENS):
                assert connection.execute(select(func.count()).select_from(table)).scalar() == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("host", "certfile", "warns"),
    [
        ("127.0.0.1", None, False),
        ("::1", None, False),
        ("localhost", None, False),
        ("0.0.0.0", None, True),
        ("192.168.1.20", None, True),
        ("server.example", None, True),
        ("0.0.0.0", "cert.pem", False),
    ],
)
def test_plain_http_off_loopback_warns(host: str, certfile: str | None, warns: bool) -> None:
    assert (plain_http_warning(host, certfile) is not None) == warns


def test_the_server_store_is_created_owner_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "server.db"
    _add_site(sqlite_url(path), "home", capsys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
