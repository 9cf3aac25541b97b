"""tools/zsm-cron.sh: quiet exit while a daemon runs, one daemon at a time, rotated log."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WRAPPER = REPO / "tools" / "zsm-cron.sh"

FAKE_DAEMON = """#!/usr/bin/env bash
# stands in for `zsm run`: records its start, runs until told to stop (bounded)
echo "started $$ config=$ZSM_CONFIG" >> "$STATE/starts"
for _ in $(seq 1 600); do [ -e "$STATE/stop" ] && exit 0; sleep 0.05; done
exit 7
"""


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    if shutil.which("flock") is None:
        pytest.skip("flock (util-linux) is not installed")
    fake = tmp_path / "zsm"
    fake.write_text(FAKE_DAEMON)
    fake.chmod(0o755)
    return {
        **os.environ,
        "ZSM_BIN": str(fake),
        "ZSM_CONFIG": str(tmp_path / "zsm.toml"),
        "ZSM_STATE_DIR": str(tmp_path / "state"),
        "ZSM_LOG_MAX_BYTES": "100",
        "ZSM_LOG_KEEP": "3",
        "STATE": str(tmp_path),
    }


def _wait_for(path: Path, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_second_start_exits_quietly_while_the_first_runs(env: dict[str, str], tmp_path: Path) -> None:
    log = tmp_path / "state" / "zsm.log"
    log.parent.mkdir()
    log.write_text("x" * 500)  # past ZSM_LOG_MAX_BYTES: rotated before the daemon starts
    first = subprocess.Popen(["bash", str(WRAPPER)], env=env)
    _wait_for(tmp_path / "starts")
    second = subprocess.run(["bash", str(WRAPPER)], env=env, capture_output=True, text=True, timeout=20)
    assert second.returncode == 0 and second.stdout == "" and second.stderr == ""
    (tmp_path / "stop").touch()
    assert first.wait(timeout=30) == 0
    starts = (tmp_path / "starts").read_text().splitlines()
    assert len(starts) == 1, "exactly one daemon ran"
    assert starts[0].endswith(f"config={env['ZSM_CONFIG']}")
    assert (tmp_path / "state" / "zsm.log.1").read_text() == "x" * 500
    assert "daemon exited with status 0" in log.read_text()


def test_a_new_daemon_starts_once_the_old_one_is_gone(env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "stop").touch()  # each fake daemon ends at once
    for _ in range(2):
        assert subprocess.run(["bash", str(WRAPPER)], env=env, timeout=30).returncode == 0
    assert len((tmp_path / "starts").read_text().splitlines()) == 2
