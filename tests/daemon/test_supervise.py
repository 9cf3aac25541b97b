"""``zsm supervise``: a daemon killed with SIGKILL is running again within seconds, and a restarted daemon
commands what the schedule wants within 2 s of its start (issue 13)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.clock import ScaledClock
from controller.daemon.supervisor import RestartPolicy
from controller.domain.events import DaemonStarted, DaemonStopped
from controller.simulation.devices.site import loopback_site
from controller.simulation.plant import MeterParams
from storage.event_log import EventLog
from tests.daemon.conftest import flat_household

REPO = Path(__file__).resolve().parents[2]


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def wait_until(condition: Callable[[], bool], timeout_s: float = 60.0) -> float:
    """Bounded poll on a real subprocess; returns when ``condition`` held (time.monotonic())."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "not within the time limit"
        time.sleep(0.02)
    return time.monotonic()


def test_restart_policy_backs_off_only_for_a_daemon_that_keeps_crashing() -> None:
    policy = RestartPolicy(first_delay_s=0.5, max_delay_s=30.0, stable_s=60.0)
    assert [policy.delay_after(1.0) for _ in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert policy.delay_after(3600.0) == 0.5, "a daemon that ran an hour is restarted at once"


@pytest.mark.slow
def test_a_killed_daemon_is_back_and_commanding_within_seconds(tmp_path: Path) -> None:
    if not Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children").exists():
        pytest.skip("needs Linux /proc/PID/task/PID/children")
    clock = ScaledClock(datetime.now(UTC), 1.0)
    start = clock.now()
    schedule = tmp_path / "schedule.json"
    schedule.write_text(json.dumps({
        "timezone": "Europe/Amsterdam",
        "default": {"mode": "standby"},
        "dated": [{"start": (start - timedelta(minutes=1)).isoformat(),
                   "end": (start + timedelta(hours=1)).isoformat(), "mode": "discharge", "power_w": 300}],
    }))  # fmt: skip
    database = tmp_path / "daemon.db"
    with loopback_site(flat_household(400.0), clock, meter=MeterParams(lag_s=2.0), origin=start) as site:
        config = tmp_path / "zsm.toml"
        config.write_text(
            f'site_id = "crash"\ndatabase_path = "{database}"\n'
            f'[battery]\nhost = "127.0.0.1"\nport = {site.zendure.port}\n'
            f'[meter]\nhost = "127.0.0.1"\nport = {site.meter.port}\n'
            f'[schedule]\nsource = "file"\npath = "{schedule}"\n'
        )
        env = {**os.environ, "ZSM_CONFIG": str(config), "PYTHONPATH": str(REPO)}
        supervisor = subprocess.Popen(
            [sys.executable, "-m", "controller", "supervise"], env=env, cwd=tmp_path,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            wait_until(lambda: site.zendure.settings.outputLimit == 300)  # the slot is in force
            (first,) = children(supervisor.pid)
            before = len(site.zendure.writes)
            killed = time.monotonic()
            os.kill(first, signal.SIGKILL)
            wait_until(lambda: children(supervisor.pid) not in ([], [first]))
            commanded = wait_until(lambda: len(site.zendure.writes) > before)
            resent = site.zendure.writes[before]
        finally:
            supervisor.send_signal(signal.SIGTERM)
            _, err = supervisor.communicate(timeout=60)
    assert supervisor.returncode == 0, err.decode()[-2000:]
    assert commanded - killed < 15.0, "back well before the next cron minute"

    log = EventLog.open_sqlite(database, site_id="crash", migrate=False)
    events = [s.event for s in log.iter_events()]
    log.close()
    starts = [i for i, e in enumerate(events) if isinstance(e, DaemonStarted)]
    assert len(starts) == 2, "the supervisor started a second daemon"
    restarted = events[starts[1]]
    assert resent.body["properties"]["outputLimit"] == 300, "what the schedule wants: discharge 300 W"
    assert (resent.at - restarted.at).total_seconds() <= 2.0, "within 2 s of the restarted daemon's start"
    assert isinstance(events[-1], DaemonStopped), "SIGTERM reached the daemon through the supervisor"
