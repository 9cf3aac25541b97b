"""A whole zsm world on loopback for end-to-end tests: the web server and the simulated devices run in the
test process on an accelerated clock; the daemon runs as a real ``zsm run`` subprocess on the same clock."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, func, select

from controller.clock import ScaledClock
from controller.demo import demo_schedule
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.site import loopback_site
from controller.simulation.devices.zendure_server import ZendureServer
from controller.simulation.plant import BatteryParams, Household, MeterParams
from storage.event_log import EventLog
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.models import SiteEvent
from storage.server.services import schedules, sites
from storage.server.testing import run_server

REPO = Path(__file__).resolve().parents[2]
SITE = "e2e"


def household(minutes: int = 120) -> Household:
    """450 W of load with a 1.2 kW appliance for a while, and PV that exports from minute 7 on."""
    seconds = minutes * 60
    load = [450.0 + (1200.0 if 300 <= t % 900 < 360 else 0.0) for t in range(seconds)]
    pv = [0.0 if t < 7 * 60 else 1300.0 for t in range(seconds)]
    return Household(tuple(load), tuple(pv), name="e2e")


@dataclass
class World:
    """Server, devices and the daemon's files; the daemon itself is started with :meth:`start_daemon`."""

    tmp: Path
    clock: ScaledClock
    url: str
    token: str
    engine: Engine
    zendure: ZendureServer
    meter: HomeWizardV1Server
    config: Path
    database: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def start(self) -> datetime:
        return self.clock.start

    def start_daemon(self, name: str = "daemon") -> subprocess.Popen[bytes]:
        out = (self.tmp / f"{name}.log").open("ab")
        env = {**os.environ, "PYTHONPATH": str(REPO), "ZSM_CONFIG": str(self.config)}
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "controller", "run",
                "--speed", str(self.clock.speed),
                "--clock-start", self.clock.start.isoformat(),
                "--clock-anchor", repr(self.clock.anchor_wall),
            ],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.tmp,
        )  # fmt: skip
        self.processes.append(proc)
        return proc

    def wait_until(self, virtual_minutes: float, timeout_s: float = 120.0) -> None:
        """Block until the shared clock reaches ``start + virtual_minutes`` (bounded)."""
        target = self.start + timedelta(minutes=virtual_minutes)
        deadline = time.monotonic() + timeout_s
        while self.clock.now() < target:
            assert time.monotonic() < deadline, "the world clock stopped?"
            time.sleep(min(0.2, max(0.01, (target - self.clock.now()).total_seconds() / self.clock.speed)))

    def wait_minutes(self, virtual_minutes: float, timeout_s: float = 120.0) -> None:
        """Block for ``virtual_minutes`` of the shared clock from now (bounded)."""
        elapsed = (self.clock.now() - self.start).total_seconds() / 60
        self.wait_until(elapsed + virtual_minutes, timeout_s)

    def poll(self, condition: Callable[[], bool], timeout_s: float = 30.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.1)

    def stop_daemon(self, proc: subprocess.Popen[bytes], timeout_s: float = 30.0) -> int:
        proc.send_signal(signal.SIGTERM)
        return proc.wait(timeout=timeout_s)

    def daemon_log(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.tmp.glob("*.log")))

    def server_event_count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(SiteEvent)).scalar_one())

    def server_seqs(self) -> list[int]:
        with self.engine.connect() as conn:
            return [int(s) for s in conn.execute(select(SiteEvent.seq).order_by(SiteEvent.seq)).scalars()]

    def api(self, path: str) -> Any:
        reply = requests.get(
            f"{self.url}/api/v1/sites/{SITE}/{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=10,
        )
        reply.raise_for_status()
        return reply.json()

    def open_log(self) -> EventLog:
        return EventLog.open_sqlite(self.database, site_id=SITE, migrate=False)


@contextlib.contextmanager
def world(tmp: Path, *, speed: float = 20.0, lag_s: float = 10.0, extra_config: str = "") -> Iterator[World]:
    """Start server and devices on an accelerated clock; stop everything (and any daemon) afterwards."""
    clock = ScaledClock(datetime.now(UTC).replace(microsecond=0), speed)
    app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp / 'server.db'}"), clock=clock)
    engine = app.state.zsm.engine
    now = clock.now()
    site, token = sites.create_site(engine, SITE, now)
    current = schedules.current_schedule(engine, site)
    schedules.put_schedule(
        engine,
        site,
        demo_schedule(clock.start, (2, 2, 3, 3), charge_w=500, discharge_w=300, default="standby"),
        current.etag,
        "e2e",
        now,
    )
    with contextlib.ExitStack() as stack:
        url = stack.enter_context(run_server(app))
        devices = stack.enter_context(
            loopback_site(
                household(),
                clock,
                battery=BatteryParams(initial_soc_pct=60.0),
                meter=MeterParams(lag_s=lag_s),
                origin=clock.start,
            )
        )
        zendure, meter = devices.zendure, devices.meter
        database = tmp / "daemon.db"
        config = tmp / "zsm.toml"
        config.write_text(
            f'site_id = "{SITE}"\ndatabase_path = "{database}"\n'
            f'[battery]\nhost = "127.0.0.1"\nport = {zendure.port}\nread_interval_s = 5\n'
            f'[meter]\nkind = "homewizard_v1"\nhost = "127.0.0.1"\nport = {meter.port}\n'
            f"[regulation]\nlag_s = {lag_s}\n"
            f'[server]\nurl = "{url}"\ntoken = "{token}"\nstatus_interval_s = 30\n{extra_config}'
        )
        w = World(tmp, clock, url, token, engine, zendure, meter, config, database)
        try:
            yield w
        finally:
            for proc in w.processes:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
