"""``zsm demo``: the whole system on loopback, without a battery.

Starts the web server (SQLite in a directory), a simulated Zendure SolarFlow 800 Pro (or a legacy device
such as the Hyper 2000 on an MQTT broker) and a simulated HomeWizard P1 meter with 20 s lag, both driven by
one plant (the built-in synthetic household or a trace), and the real daemon (`zsm run`'s code) with a
demo schedule that passes through charge, discharge, NetZero and NetZero+ in the first minutes. Time can
run accelerated (``speed``); every part shares one clock. The event logs stay in the directory for
``zsm audit`` / ``zsm replay``.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from controller.clock import Clock, ScaledClock, SystemClock
from controller.daemon.daemon import Daemon
from controller.daemon.devices import build_devices
from controller.devices.zendure_mqtt_connection import BrokerAddress, parse_broker
from controller.settings import Settings, load_settings
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.mosquitto import PrivateMosquitto, broker_listening
from controller.simulation.devices.site import loopback_site
from controller.simulation.devices.zendure_mqtt_device import LegacyMqttDevice, plant_params_for
from controller.simulation.devices.zendure_server import ZendureServer
from controller.simulation.plant import (
    BatteryParams,
    BatteryPlant,
    Household,
    MeterParams,
    MeterPlant,
    load_trace,
    synthetic_household,
)

__all__ = ["DemoOptions", "DemoSystem", "demo_schedule"]

LOGGER = logging.getLogger(__name__)

DEMO_SITE = "demo"
DEMO_USER = "demo"


@dataclass
class DemoOptions:
    """What the demo runs on."""

    directory: Path
    speed: float = 1.0
    trace: Path | None = None
    server_port: int | None = None
    lag_s: float = 20.0
    seed: int = 7
    start_hour: float = 9.0
    password: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    battery: str = "sf800pro"
    """``sf800pro`` (zenSDK over HTTP) or a legacy MQTT model (``hyper2000``, ``hub1200``, ...)."""
    mqtt_broker: str | None = None
    """``HOST:PORT`` of the broker for a legacy model; empty: 127.0.0.1:1883, else a private mosquitto."""


def demo_schedule(
    start: datetime,
    minutes: tuple[float, float, float, float] = (2, 2, 6, 6),
    *,
    charge_w: int = 600,
    discharge_w: int = 400,
    default: str = "netzero",
) -> dict[str, Any]:
    """Back-to-back charge, discharge, NetZero and NetZero+ slots of ``minutes`` from ``start``."""
    edges = [start]
    for length in minutes:
        edges.append(edges[-1] + timedelta(minutes=length))
    at = [edge.isoformat().replace("+00:00", "Z") for edge in edges]
    return {
        "timezone": "Europe/Amsterdam",
        "default": {"mode": default},
        "recurring": [],
        "dated": [
            {"id": "demo-charge", "start": at[0], "end": at[1], "mode": "charge", "power_w": charge_w},
            {
                "id": "demo-discharge",
                "start": at[1],
                "end": at[2],
                "mode": "discharge",
                "power_w": discharge_w,
            },
            {"id": "demo-netzero", "start": at[2], "end": at[3], "mode": "netzero"},
            {"id": "demo-netzero-plus", "start": at[3], "end": at[4], "mode": "netzero_plus"},
        ],
    }


@dataclass
class DemoInfo:
    """Where the running demo can be reached."""

    url: str
    username: str
    password: str
    server_database: Path
    daemon_database: Path
    config_path: Path


class DemoSystem:
    """Server, simulated devices and daemon sharing one (possibly accelerated) clock."""

    def __init__(self, options: DemoOptions, clock: Clock | None = None) -> None:
        self.options = options
        self.clock = clock or ScaledClock(SystemClock().now().replace(microsecond=0), options.speed)
        self.daemon: Daemon | None = None
        self._stack = contextlib.ExitStack()
        self.info: DemoInfo | None = None
        self.zendure: ZendureServer | None = None
        self.meter: HomeWizardV1Server | None = None
        self.legacy: LegacyMqttDevice | None = None

    def _household(self) -> Household:
        o = self.options
        if o.trace is not None:
            return load_trace(o.trace)
        return synthetic_household(o.seed, duration_s=24 * 3600, start_hour=o.start_hour, pv_peak_w=900)

    def start(self) -> DemoInfo:
        """Start the server and the simulated devices, create the site, user and schedule."""
        from storage.server.app import create_app
        from storage.server.config import ServerConfig
        from storage.server.errors import NotFound, ServerError
        from storage.server.services import schedules, sites, users
        from storage.server.testing import run_server

        o = self.options
        o.directory.mkdir(parents=True, exist_ok=True)
        server_db = o.directory / "server.db"
        app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{server_db}"), clock=self.clock)
        engine = app.state.zsm.engine
        now = self.clock.now()
        try:
            site = sites.get_site(engine, DEMO_SITE)
            token = sites.add_site_token(engine, site, now)
        except NotFound:  # a fresh directory: create the site
            site, token = sites.create_site(engine, DEMO_SITE, now)
        with contextlib.suppress(ServerError):  # the user exists from an earlier run in this directory
            users.create_user(engine, DEMO_USER, o.password, now)
        users.set_password(engine, DEMO_USER, o.password)
        users.set_role(engine, DEMO_USER, DEMO_SITE, "editor")
        current = schedules.current_schedule(engine, site)
        schedules.put_schedule(engine, site, demo_schedule(now), current.etag, "zsm demo", now)

        url = self._stack.enter_context(run_server(app, port=o.server_port))
        if o.battery == "sf800pro":
            battery_lines = self._start_zensdk_site()
        else:
            battery_lines = self._start_legacy_site()
        assert self.meter is not None
        config_path = o.directory / "zsm.toml"
        daemon_db = o.directory / "daemon.db"
        config_path.write_text(
            "\n".join(
                [
                    "# written by zsm demo",
                    f'site_id = "{DEMO_SITE}"',
                    f'database_path = "{daemon_db}"',
                    *battery_lines,
                    "[meter]",
                    'kind = "homewizard_v1"',
                    'host = "127.0.0.1"',
                    f"port = {self.meter.port}",
                    "[regulation]",
                    f"lag_s = {o.lag_s}",
                    "[server]",
                    f'url = "{url}"',
                    f'token = "{token}"',
                    "status_interval_s = 10",
                    "",
                ]
            )
        )
        config_path.chmod(0o600)
        self.info = DemoInfo(url, DEMO_USER, o.password, server_db, daemon_db, config_path)
        return self.info

    def _start_zensdk_site(self) -> list[str]:
        o = self.options
        devices = self._stack.enter_context(
            loopback_site(
                self._household(),
                self.clock,
                battery=BatteryParams(initial_soc_pct=50.0),
                meter=MeterParams(lag_s=o.lag_s, seed=o.seed),
            )
        )
        self.zendure, self.meter = devices.zendure, devices.meter
        return ["[battery]", 'host = "127.0.0.1"', f"port = {self.zendure.port}", "read_interval_s = 5"]

    def _broker(self) -> BrokerAddress:
        """The broker given, else 127.0.0.1:1883 when it answers, else a private mosquitto."""
        if self.options.mqtt_broker:
            return parse_broker(self.options.mqtt_broker)
        if broker_listening("127.0.0.1", 1883):
            return BrokerAddress("127.0.0.1", 1883)
        private = PrivateMosquitto(self.options.directory / "mosquitto")
        private.start()
        self._stack.callback(private.stop)
        return BrokerAddress("127.0.0.1", private.port)

    def _start_legacy_site(self) -> list[str]:
        """A legacy device on the broker and a HomeWizard meter, driven by one plant."""
        o = self.options
        broker = self._broker()
        home = SimulatedHome(
            self._household(),
            BatteryPlant(plant_params_for(o.battery, initial_soc_pct=50.0)),
            MeterPlant(MeterParams(lag_s=o.lag_s, seed=o.seed)),
            self.clock,
        )
        self.meter = HomeWizardV1Server(home.meter_port, self.clock)
        self.meter.start()
        self._stack.callback(self.meter.stop)
        device_key = "demo" + secrets.token_hex(2)
        self.legacy = LegacyMqttDevice(
            home.battery_port, self.clock, broker, o.battery, device_key=device_key
        )
        self.legacy.start(wall_period_s=min(0.2, 1.0 / max(o.speed, 1.0)))
        self._stack.callback(self.legacy.stop)
        return [
            "[battery]",
            'kind = "mqtt"',
            "read_interval_s = 5",
            "[battery.mqtt]",
            f'host = "{broker.host}"',
            f"port = {broker.port}",
            f'product_key = "{self.legacy.topics.product_key}"',
            f'device_key = "{device_key}"',
            f'model = "{o.battery}"',
        ]

    def settings(self) -> Settings:
        assert self.info is not None
        return load_settings(self.info.config_path)

    def run_daemon(self, *, max_ticks: int | None = None) -> int:
        """Run the daemon in this thread until stopped (or ``max_ticks``); returns its exit code."""
        self.daemon = Daemon(self.settings(), self.clock, build_devices, max_ticks=max_ticks)
        return self.daemon.run()

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.request_stop("demo stopped")
        self._stack.close()

    @contextlib.contextmanager
    def status_printer(self, write: Callable[[str], None], interval_s: float = 1.0) -> Iterator[None]:
        """Print a one-line live status every ``interval_s`` of wall time while the block runs."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval_s):
                write(self.status_line())

        thread = threading.Thread(target=loop, name="zsm-demo-status", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=2)

    def status_line(self) -> str:
        """``HH:MM:SS state slot SoC grid battery last-command``."""
        daemon = self.daemon
        loop = daemon.loop if daemon is not None else None
        if loop is None:
            return "starting..."
        snap = loop.snapshot
        local = self.clock.now().astimezone().strftime("%H:%M:%S")

        def watts(value: float | None) -> str:
            return "   ? W" if value is None else f"{value:5.0f} W"

        soc = "  ?" if snap.soc_pct is None else f"{snap.soc_pct:3.0f}"
        return (
            f"{local}  {snap.state:<11} slot {snap.slot or '-':<12} SoC {soc} %  "
            f"grid {watts(snap.grid_w)}  battery {watts(snap.battery_w)}  last: {snap.last_command or '-'}"
        )
