#!/usr/bin/env python3
"""Daemon footprint: resident memory, CPU time per control tick, start to first command.

Runs the real ``zsm run`` as a subprocess against the simulated Zendure and HomeWizard devices and a test
server on loopback (all bounded in time), with a schedule that asks to charge from the first second.
Prints a table, or with ``--json`` one JSON object with every figure. Targets: RSS <= 60 MB, CPU per tick
<= 1 ms, start to first command <= 2 s (a new log, migrated first; ``restart_to_first_write_s`` is a
second start on the same log, as after a crash). CPU is the whole process's (the control loop plus the server
worker's uploads, schedule checks and status posts) and, separately, the control loop's own thread.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from controller.clock import ScaledClock  # noqa: E402
from controller.domain.events import CommandIssued, DaemonStarted  # noqa: E402
from controller.simulation.devices.site import loopback_site  # noqa: E402
from controller.simulation.plant import MeterParams, synthetic_household  # noqa: E402
from storage.event_log import EventLog  # noqa: E402
from storage.server.app import create_app  # noqa: E402
from storage.server.config import ServerConfig  # noqa: E402
from storage.server.services import schedules, sites  # noqa: E402
from storage.server.testing import run_server  # noqa: E402

TARGETS = {"rss_mb": 60.0, "cpu_ms_per_tick": 1.0, "start_to_first_command_s": 2.0}


def cpu_seconds(stat: Path) -> float:
    """User + system CPU seconds from a /proc ``stat`` file (a process's or one thread's)."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_stat(pid: int) -> tuple[float, float]:
    """(CPU seconds used, resident MB) of a process, from /proc."""
    cpu_s = cpu_seconds(Path(f"/proc/{pid}/stat"))
    rss_kb = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if line.startswith("VmRSS:"))  # fmt: skip
    return cpu_s, rss_kb / 1024


def wait_until_ticking(meter: Any, proc: subprocess.Popen[bytes], timeout_s: float = 120.0) -> None:
    """Wait (bounded) until the daemon polls the meter every second, i.e. start-up is over."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        before = meter.requests
        time.sleep(1.5)
        if meter.requests - before >= 1:
            return
    raise RuntimeError("the daemon did not start ticking")


def restart_to_first_write(zendure: Any, env: dict[str, str], cwd: Path, timeout_s: float = 60.0) -> float:
    """Start the daemon again on its (migrated) log: seconds from launch to its first write to the battery
    (it re-sends the command in force), which is what a restart after a crash costs."""
    writes = len(zendure.writes)
    launched = time.time()
    proc = subprocess.Popen(
        [sys.executable, "-m", "controller", "run"], env=env, cwd=cwd,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + timeout_s
    while len(zendure.writes) == writes and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    if len(zendure.writes) == writes:
        raise RuntimeError("the restarted daemon did not write to the battery")
    return float(zendure.writes[writes].at.timestamp() - launched)


def run(seconds: float) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp_text:
        tmp = Path(tmp_text)
        clock = ScaledClock(datetime.now(UTC), 1.0)
        app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp / 'server.db'}"), clock=clock)
        engine = app.state.zsm.engine
        site, token = sites.create_site(engine, "bench", clock.now())
        start = clock.now()
        plan = {
            "timezone": "Europe/Amsterdam",
            "default": {"mode": "netzero"},
            "dated": [{"start": (start - timedelta(minutes=1)).isoformat(),
                       "end": (start + timedelta(seconds=20)).isoformat(), "mode": "charge", "power_w": 500}],
        }  # fmt: skip
        schedules.put_schedule(
            engine, site, plan, schedules.current_schedule(engine, site).etag, "bench", start
        )
        household = synthetic_household(3, duration_s=4 * 3600, start_hour=10.0)
        with loopback_site(household, clock, meter=MeterParams(lag_s=20.0), origin=start) as devices:
            zendure, meter = devices.zendure, devices.meter
            with run_server(app) as url:
                database = tmp / "daemon.db"
                config = tmp / "zsm.toml"
                config.write_text(
                    f'site_id = "bench"\ndatabase_path = "{database}"\n'
                    f'[battery]\nhost = "127.0.0.1"\nport = {zendure.port}\n'
                    f'[meter]\nhost = "127.0.0.1"\nport = {meter.port}\n'
                    f'[server]\nurl = "{url}"\ntoken = "{token}"\n'
                )
                env = {**os.environ, "ZSM_CONFIG": str(config), "PYTHONPATH": str(REPO)}
                launched = time.time()
                proc = subprocess.Popen(
                    [sys.executable, "-m", "controller", "run"], env=env, cwd=tmp,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                wait_until_ticking(meter, proc)  # start-up (imports) stays out of the steady state
                time.sleep(2)
                cpu0, _ = proc_stat(proc.pid)
                main0 = cpu_seconds(Path(f"/proc/{proc.pid}/task/{proc.pid}/stat"))  # the loop's thread
                requests0 = meter.requests
                t0 = time.monotonic()
                time.sleep(seconds)
                cpu1, rss_mb = proc_stat(proc.pid)
                main1 = cpu_seconds(Path(f"/proc/{proc.pid}/task/{proc.pid}/stat"))
                elapsed = time.monotonic() - t0
                meter_requests = meter.requests - requests0
                proc.send_signal(signal.SIGTERM)
                code = proc.wait(timeout=30)
                log = EventLog.open_sqlite(database, site_id="bench", migrate=False)
                events = [s.event for s in log.iter_events()]
                log.close()
                restart_s = restart_to_first_write(zendure, env, tmp)
    started = next(e for e in events if isinstance(e, DaemonStarted))
    first = next(e for e in events if isinstance(e, CommandIssued))
    ticks = elapsed / 1.0  # one control tick per second
    return {
        "exit_code": code,
        "measured_s": round(elapsed, 1),
        "rss_mb": round(rss_mb, 1),
        "cpu_ms_per_tick": round((cpu1 - cpu0) * 1000 / ticks, 3),
        "control_thread_cpu_ms_per_tick": round((main1 - main0) * 1000 / ticks, 3),
        "start_to_first_command_s": round(first.at.timestamp() - launched, 3),
        "daemon_started_to_first_command_s": round((first.at - started.at).total_seconds(), 3),
        "restart_to_first_write_s": round(restart_s, 3),
        "meter_requests_per_tick": round(meter_requests / ticks, 2),
        "events_logged": len(events),
        "meter_readings_logged": sum(1 for e in events if e.kind == "meter_reading"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds", type=float, default=60.0, help="steady-state seconds to measure (default 60)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    args = parser.parse_args()
    results = run(args.seconds)
    if args.json:
        print(json.dumps({**results, "targets": TARGETS}, sort_keys=True))
        return 0
    print(f"{'figure':<36} {'measured':>10}  target")  # CPU: whole process, and the control loop's thread
    for key, unit in (("rss_mb", "MB"), ("cpu_ms_per_tick", "ms"), ("control_thread_cpu_ms_per_tick", "ms"),
                      ("start_to_first_command_s", "s"),
                      ("daemon_started_to_first_command_s", "s"), ("restart_to_first_write_s", "s"),
                      ("meter_requests_per_tick", ""),
                      ("events_logged", ""),
                      ("meter_readings_logged", "")):  # fmt: skip
        target = TARGETS.get(key)
        print(f"{key:<36} {results[key]:>10} {unit:<3} {'<= ' + str(target) if target else ''}")
    return 0 if results["exit_code"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
