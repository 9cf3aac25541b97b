"""``zsm site add``, ``zsm user add`` and ``zsm serve`` (migrates on start, answers on loopback)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from controller.cli import main
from controller.clock import SystemClock
from storage.database import sqlite_url
from storage.migrate import head_revision
from storage.server.testing import free_port

REPO = Path(__file__).resolve().parents[2]


def test_site_add_prints_token_once_and_it_works(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(tmp_path / "server.db")
    assert main(["site", "add", "home", "--database-url", url]) == 0
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert token.startswith("zsm_") and len(token) > 40
    assert main(["site", "add", "home", "--database-url", url]) == 1  # exists already
    assert "exists" in capsys.readouterr().out
    assert main(["site", "list", "--database-url", url]) == 0
    assert capsys.readouterr().out.split() == ["home"]

    from storage.database import create_db_engine
    from storage.server.services.sites import site_for_token

    engine = create_db_engine(url)
    owner = site_for_token(engine, token)
    engine.dispose()
    assert owner is not None and owner.name == "home"
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("server.db*"))
    assert token.encode() not in stored  # stored hashed only


def test_user_add_with_role(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(tmp_path / "server.db")
    assert main(["site", "add", "home", "--database-url", url]) == 0
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long password\n"))
    code = main(["user", "add", "alice", "--role", "home=editor", "--password-stdin", "--database-url", url])
    assert code == 0
    assert "editor on home" in capsys.readouterr().out
    assert main(["user", "role", "alice", "home", "viewer", "--database-url", url]) == 0
    assert main(["user", "add", "bob", "--role", "home=owner", "--database-url", url]) == 2


def test_serve_migrates_and_answers(tmp_path: Path) -> None:
    port = free_port()
    url = sqlite_url(tmp_path / "served.db")
    process = subprocess.Popen(
        [sys.executable, "-m", "controller", "serve", "--port", str(port), "--database-url", url],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    clock = SystemClock()
    try:
        deadline = clock.monotonic() + 60  # a loaded CI machine needs a while to import the server
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert clock.monotonic() < deadline, "zsm serve did not answer"
                clock.sleep(0.05)
        assert ready.status_code == 200 and ready.json()["revision"] == head_revision()
        assert "server" not in ready.headers  # no server banner
    finally:
        process.terminate()
        process.wait(timeout=10)
