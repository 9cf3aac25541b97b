"""Ctrl-C on ``python3 tools/quickstart.py demo``: the signal reaches the demo and quickstart waits for it, so
the daemon commands standby and logs ``daemon_stopped`` instead of being killed mid-tick (issue 13)."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controller.domain.commands import CommandKind
from controller.domain.events import CommandIssued, DaemonStopped
from storage.event_log import EventLog

REPO = Path(__file__).resolve().parents[2]


def _commands_logged(database: Path) -> int:
    if not database.exists():
        return 0
    try:
        log = EventLog.open_sqlite(database, site_id="demo", migrate=False)
    except Exception:  # noqa: BLE001 - not created yet
        return 0
    try:
        return sum(1 for s in log.iter_events() if isinstance(s.event, CommandIssued))
    except Exception:  # noqa: BLE001 - being migrated right now
        return 0
    finally:
        log.close()


@pytest.mark.slow
def test_ctrl_c_on_quickstart_demo_stops_the_daemon_cleanly(tmp_path: Path) -> None:
    venv = tmp_path / "venv"  # the already installed environment, marked up to date for quickstart
    (venv / "bin").mkdir(parents=True)
    for name in ("python", "zsm"):
        (venv / "bin" / name).symlink_to(Path(sys.prefix) / "bin" / name)
    digest = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".zsm-installed").write_text(digest)
    data = tmp_path / "demo"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "tools" / "quickstart.py"), "demo", "--dir", str(data), "--speed", "5"],
        env={**os.environ, "ZSM_VENV": str(venv)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, like a terminal's foreground job
    )
    try:
        deadline = time.monotonic() + 120
        while _commands_logged(data / "daemon.db") == 0:  # bounded wait on a real subprocess
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            assert time.monotonic() < deadline, "the demo never commanded"
            time.sleep(0.2)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert "Traceback" not in err.decode(), err.decode()[-3000:]
    log = EventLog.open_sqlite(data / "daemon.db", site_id="demo", migrate=False)
    events = [s.event for s in log.iter_events()]
    log.close()
    assert any(isinstance(e, DaemonStopped) for e in events[-3:]), [e.kind for e in events[-5:]]
    stops = [e for e in events if isinstance(e, CommandIssued) and e.inputs.get("stop")]
    assert stops and stops[-1].command.kind is CommandKind.STANDBY
