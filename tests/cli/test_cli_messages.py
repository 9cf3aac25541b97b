"""What a new user sees when something is missing or wrong: one line of message, no traceback (issue 13)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from controller.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_simulate_plot_without_matplotlib_fails_up_front_naming_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if it were not installed
    out = tmp_path / "run.png"
    csv = tmp_path / "run.csv"
    code = main(
        ["simulate", "--duration-h", "0.2", "--no-progress", "--timeseries", str(csv), "--plot", str(out)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "zsm[plot]" in err
    assert not csv.exists(), "checked before the run, not after it"


@pytest.mark.parametrize("command", ["audit", "replay"])
@pytest.mark.parametrize(
    "content", [b"", b"hello, this is a text file\n", b"SQLite format 3\x00" + b"\0" * 84]
)
def test_audit_and_replay_name_a_file_that_is_not_an_event_log(
    command: str, content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.txt"
    path.write_bytes(content)
    args = [command, str(path)] + (["--at", "2026-11-24 18:00"] if command == "audit" else [])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert f"zsm {command}:" in err and str(path) in err


def test_audit_names_an_sqlite_file_without_an_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (text TEXT)")
    assert main(["audit", str(path), "--at", "2026-11-24 18:00"]) == 2
    assert "holds no zsm event log" in capsys.readouterr().err


def test_user_add_without_a_terminal_says_to_use_password_stdin(tmp_path: Path) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'server.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "controller", "user", "add", "alice", "--database-url", url],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode != 0
    assert "--password-stdin" in result.stderr
    assert "Traceback" not in result.stderr
