"""The server is down for a simulated week, then comes back: every event arrives, memory stays bounded."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.clock import ManualClock
from controller.daemon.forwarder import Forwarder
from controller.daemon.server_client import ServerClient, StatusReport
from controller.daemon.server_worker import ServerWorker
from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandIssued, EventBase, MeterReading, SourceStale
from controller.settings import LimitSettings
from storage.event_log import EventLog
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services import sites
from storage.server.testing import free_port, run_server

START = datetime(2026, 11, 1, tzinfo=UTC)
WEEK_S = 7 * 24 * 3600
METER_EVERY_S = 30  # thinned to keep the test short; the daemon logs every reading


def hour_of_events(t0: datetime) -> list[EventBase]:
    events: list[EventBase] = []
    for s in range(0, 3600, METER_EVERY_S):
        at = t0 + timedelta(seconds=s)
        events.append(MeterReading(at=at, grid_w=150.0 + s % 97, meter_time=at - timedelta(seconds=20)))
        if s % 60 == 0:
            events.append(BatteryReading(at=at, soc_pct=55.0, battery_w=120.0))
    events.append(
        CommandIssued(at=t0, command=Command.discharge(300), state="NetZero", inputs={"meter_w": 1.0})
    )
    return events


def test_a_week_without_server_then_everything_arrives(tmp_path: Path) -> None:
    clock = ManualClock(START)
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="week")
    server_app = create_app(
        ServerConfig(database_url=f"sqlite+pysqlite:///{tmp_path / 'server.db'}"), clock=clock
    )
    _, token = sites.create_site(server_app.state.zsm.engine, "week", clock.now())
    port = free_port()
    client = ServerClient(f"http://127.0.0.1:{port}", "week", token, timeout_s=5)
    worker = ServerWorker(
        clock=clock, limits=LimitSettings(), schedule_source=None, schedule_interval_s=300,
        forwarder=Forwarder(log, client, batch=500), client=client, status_interval_s=60,
        status=lambda: StatusReport(state="NetZero", software_version="test", heartbeat_at=clock.now()),
    )  # fmt: skip

    tracemalloc.start()
    for _hour in range(WEEK_S // 3600):  # the server is down all week; the daemon keeps logging
        log.append_many(hour_of_events(clock.now()))
        worker.run_round()
        clock.advance(3600)
    _, outage_peak = tracemalloc.get_traced_memory()
    stale = [e for e in worker.drain() if isinstance(e, SourceStale)]
    assert len(stale) == 1, "the outage is reported once"
    total = log.count()
    assert total > 7 * 24 * (3600 // METER_EVERY_S)

    tracemalloc.reset_peak()
    with run_server(server_app, port=port):
        rounds = 0
        while worker._forwarder is not None and worker._forwarder.cursor < log.last_seq():  # noqa: SLF001
            clock.advance(30)  # lets the back-off expire and the server's rate limiter refill
            worker.run_round()
            rounds += 1
            assert rounds < 500, "forwarding does not converge"
        recovered = worker.drain()
    _, forward_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    assert any(e.kind == "source_recovered" for e in recovered)
    with server_app.state.zsm.engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*), min(seq), max(seq) FROM site_events").one()
    assert tuple(stored) == (log.last_seq(), 1, log.last_seq()), "every event arrived once"
    # memory stays bounded: a batch at a time, never the backlog
    assert outage_peak < 20_000_000, outage_peak
    assert forward_peak < 60_000_000, forward_peak
    log.close()
