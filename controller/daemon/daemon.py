"""``zsm run``: wire clock, devices, core, regulator, event log and server worker, and run the loop.

Start: take the database lock, migrate, rebuild state from the log, log ``daemon_started`` (version and
config digest), resume. Stop (SIGTERM/SIGINT): finish the tick, command standby (configurable), let the
server worker flush, log ``daemon_stopped``, exit 0. An error that keeps failing ticks commands standby
on the way out and exits non-zero; ``zsm supervise`` starts the daemon again within a second. Each tick the
loop looks at the server worker: a thread that ended is started again, and ``worker_unhealthy`` /
``worker_recovered`` are logged when its health changes.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Final

from controller import __version__
from controller.clock import Clock
from controller.core_factory import build_core
from controller.daemon.control_loop import BatteryPort, ControlLoop, MeterPort
from controller.daemon.forwarder import Forwarder
from controller.daemon.lock import DaemonLock
from controller.daemon.schedule_source import build_schedule_source
from controller.daemon.server_client import ServerClient
from controller.daemon.server_worker import ServerWorker
from controller.daemon.worker_watch import WorkerWatch
from controller.domain.events import DaemonStarted, DaemonStopped
from controller.domain.regulator import ZsmRegulator
from controller.settings import Settings
from storage.event_log import EventLog

__all__ = ["Daemon", "Devices"]

LOGGER = logging.getLogger(__name__)

MAX_FAILED_TICKS: Final = 5


@dataclass
class Devices:
    """The two LAN devices the loop drives and reads."""

    battery: BatteryPort
    meter: MeterPort


class Daemon:
    """One control daemon; :meth:`run` returns the process exit code."""

    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        devices: Callable[[Settings, Clock], Devices],
        *,
        max_ticks: int | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self._devices = devices
        self.max_ticks = max_ticks
        self.stop_requested = threading.Event()
        self.loop: ControlLoop | None = None
        self.stop_reason = "stopped"

    def request_stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stop_requested.set()

    def _install_signals(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            self.request_stop(f"signal {signal.Signals(signum).name}")

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, handler)
            signal.signal(signal.SIGINT, handler)

    def run(self) -> int:
        settings = self.settings
        with DaemonLock(settings.database_path):
            self._install_signals()
            log = EventLog.open_sqlite(settings.database_path, site_id=settings.site_id)
            try:
                return self._run(log)
            finally:
                log.close()

    def _server_client(self) -> ServerClient | None:
        server = self.settings.server
        if not server.url or server.token is None:
            return None
        return ServerClient(
            server.url, self.settings.site_id, server.token.get_secret_value(), timeout_s=server.timeout_s
        )

    def _run(self, log: EventLog) -> int:
        settings = self.settings
        clock = self.clock
        core = build_core(settings)
        try:
            devices = self._devices(settings, clock)
        except ValueError as err:
            LOGGER.error("cannot set up the devices: %s", err)
            log.append(DaemonStopped(at=clock.now(), reason=f"configuration: {err}"))
            return 2
        loop = ControlLoop(
            core=core,
            log=log,
            clock=clock,
            battery=devices.battery,
            meter=devices.meter,
            battery_interval_s=settings.battery.read_interval_s,
            meter_interval_s=settings.meter.poll_interval_s,
        )
        self.loop = loop
        folded = loop.restore()
        log.append(DaemonStarted(at=clock.now(), version=__version__, config_digest=settings.digest()))
        LOGGER.info(
            "zsm %s started: state %s, %d events restored from the log", __version__, core.state, folded
        )

        client = self._server_client()
        source = build_schedule_source(settings.schedule, client, settings.server.timeout_s)
        if settings.planner.enabled and source is not None and settings.schedule.source != "server":
            from controller.planning.schedule_source import PlanningScheduleSource

            source = PlanningScheduleSource(source, settings, clock)  # plan locally, no server needed
        posting_to_server = settings.schedule.source == "server" and client is not None
        last_schedule = log.last_of_kind("schedule_loaded")
        worker = ServerWorker(
            clock=clock,
            limits=settings.limits,
            schedule_source=source,
            schedule_interval_s=settings.schedule.fetch_interval_s,
            forwarder=Forwarder(log, client, batch=settings.server.forward_batch)
            if posting_to_server and client
            else None,
            client=client if posting_to_server else None,
            status_interval_s=settings.server.status_interval_s,
            status=loop.status,
            schedule_etag=getattr(last_schedule.event, "etag", None) if last_schedule else None,
            forward_interval_s=settings.server.forward_interval_s,
            check_interval_s=settings.schedule.check_interval_s,
        )
        worker.start()
        bridge = None
        if settings.home_assistant.enabled:  # paho (MQTT) is loaded only when it is needed
            from controller.homeassistant.bridge import start_bridge

            bridge = start_bridge(
                settings.home_assistant,
                site_id=settings.site_id,
                limits=settings.limits,
                clock=clock,
                status=loop.status,
            )
        watch = WorkerWatch()
        exit_code = 0
        failed_ticks = 0
        tick_s = settings.daemon.tick_s
        next_tick = clock.monotonic()
        try:
            while not self.stop_requested.is_set():
                try:
                    watched = watch.observe(alive=worker.alive, health=worker.health, now=clock.now())
                    if worker.restart_if_dead():
                        LOGGER.error("the server worker had ended; started it again")
                    inputs = [*worker.drain(), *watched]
                    if bridge is not None:  # Home Assistant's overrides join the other inputs
                        regulator, known = core.regulator, core.inputs
                        lag_s = regulator.lag_in_use()[0] if isinstance(regulator, ZsmRegulator) else None
                        inputs = bridge.exchange(
                            inputs,
                            schedule=known.schedule,
                            lag_s=lag_s,
                            meter=known.meter,
                            battery=known.battery,
                        )
                    loop.tick(inputs)
                    failed_ticks = 0
                except Exception:  # noqa: BLE001 - one bad tick must not stop the battery's control
                    failed_ticks += 1
                    LOGGER.exception("control tick failed (%d in a row)", failed_ticks)
                    if failed_ticks >= MAX_FAILED_TICKS:
                        self.stop_reason = "crash: repeated tick failures"
                        exit_code = 1
                        break
                if worker.due():
                    worker.wake()
                if self.max_ticks is not None and loop.ticks >= self.max_ticks:
                    self.request_stop("tick limit reached")
                next_tick += tick_s
                delay = next_tick - clock.monotonic()
                if delay < -tick_s:  # fell behind (slow device): do not try to catch up in a burst
                    next_tick = clock.monotonic()
                clock.sleep(max(0.0, delay))
        finally:
            if settings.daemon.standby_on_stop or exit_code:
                loop.command_standby(f"daemon stopping: {self.stop_reason}")
            log.append(DaemonStopped(at=clock.now(), reason=self.stop_reason))
            worker.stop()
            if bridge is not None:
                bridge.stop()
            LOGGER.info("zsm stopped: %s", self.stop_reason)
        return exit_code
