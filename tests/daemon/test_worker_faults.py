"""Fault injection on the server-I/O worker: a full disk, a poisoned schedule and a poisoned event each fail
one exchange, are reported once and backed off, and the worker keeps uploading afterwards (issue 13)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.clock import ManualClock
from controller.daemon.forwarder import Forwarder
from controller.daemon.schedule_source import FileScheduleSource
from controller.daemon.server_client import ServerClient, StatusReport
from controller.daemon.server_worker import MAX_BACKOFF_S, ServerWorker
from controller.daemon.worker_watch import WorkerWatch
from controller.domain.events import MeterReading, ScheduleRejected, WorkerRecovered, WorkerUnhealthy
from controller.settings import LimitSettings
from storage.event_log import EventLog
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services import sites
from storage.server.testing import free_port, run_server
from tests.daemon._small_disk import fill, small_tmpfs

START = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerClient, Any]]:
    clock = ManualClock(START)
    app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp_path / 'server.db'}"), clock=clock)
    _, token = sites.create_site(app.state.zsm.engine, "faults", clock.now())
    port = free_port()
    client = ServerClient(f"http://127.0.0.1:{port}", "faults", token, timeout_s=5)
    with run_server(app, port=port):
        yield client, app.state.zsm.engine
    client.close()


def stored_seqs(engine: Any) -> list[int]:
    with engine.connect() as conn:
        return [int(r[0]) for r in conn.exec_driver_sql("SELECT seq FROM site_events ORDER BY seq")]


def stored_payload(engine: Any, seq: int) -> dict[str, Any]:
    with engine.connect() as conn:
        text = conn.exec_driver_sql("SELECT payload FROM site_events WHERE seq = ?", (seq,)).scalar_one()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def make_worker(
    clock: ManualClock, log: EventLog | None, client: ServerClient | None, source: Any = None
) -> ServerWorker:
    return ServerWorker(
        clock=clock, limits=LimitSettings(), schedule_source=source, schedule_interval_s=300,
        forwarder=Forwarder(log, client, batch=50, record_every_s=0) if log and client else None,
        client=client, status_interval_s=60,
        status=lambda: StatusReport(state="NetZero", software_version="t", heartbeat_at=clock.now()),
    )  # fmt: skip


def readings(clock: ManualClock, n: int) -> list[MeterReading]:
    return [MeterReading(at=clock.now() + timedelta(seconds=i), grid_w=100.0 + i) for i in range(n)]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "4m", "zsm-worker-disk") as disk:
        yield disk


def test_full_disk_in_record_cursor_does_not_end_the_worker(
    server: tuple[ServerClient, Any], small_disk: Path
) -> None:
    client, engine = server
    clock = ManualClock(START)
    log = EventLog.open_sqlite(small_disk / "daemon.db", site_id="faults")
    worker = make_worker(clock, log, client)
    log.append_many(readings(clock, 30))
    worker.run_round()
    assert worker.health.healthy

    log.append_many(readings(clock, 30))
    filler = fill(small_disk)
    clock.advance(10)
    worker.run_round()  # uploads, then cannot record the cursor: the disk is full
    health = worker.health
    assert not health.healthy and health.problem and "upload" in health.problem
    assert len(stored_seqs(engine)) >= 60, "the batch went up before the cursor write failed"

    filler.unlink()
    log.append_many(readings(clock, 5))
    clock.advance(MAX_BACKOFF_S + 1)
    worker.run_round()
    assert worker.health.healthy
    assert stored_seqs(engine)[-1] == log.last_seq() - 1, "every event but the new cursor record is up"
    log.close()


def test_poisoned_schedule_is_rejected_and_uploads_go_on(
    server: tuple[ServerClient, Any], tmp_path: Path
) -> None:
    client, engine = server
    clock = ManualClock(START)
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="faults")
    path = tmp_path / "schedule.json"
    poisoned = {
        "timezone": "America/New_York",  # behind UTC: the slot's UTC time lies past year 9999
        "default": {"mode": "standby"},
        "recurring": [],
        "dated": [
            {"id": "end", "start": "9999-12-31T20:00:00", "end": "9999-12-31T23:59:00", "mode": "netzero"}
        ],
    }
    path.write_text(json.dumps(poisoned))
    worker = make_worker(clock, log, client, FileScheduleSource(path))
    log.append_many(readings(clock, 10))
    worker.run_round()

    rejected = [e for e in worker.drain() if isinstance(e, ScheduleRejected)]
    assert len(rejected) == 1 and rejected[0].errors
    assert stored_seqs(engine) == list(range(1, 11))
    log.append_many(readings(clock, 10))
    clock.advance(10)
    worker.run_round()
    assert set(range(1, 21)) <= set(stored_seqs(engine)), "uploads go on after the rejection"
    assert worker.drain() == [], "the rejected document is not rejected again until it changes"
    log.close()


def test_poisoned_event_goes_up_with_nulls(server: tuple[ServerClient, Any], tmp_path: Path) -> None:
    client, engine = server
    clock = ManualClock(START)
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="faults")
    worker = make_worker(clock, log, client)
    log.append_many(readings(clock, 1))
    with sqlite3.connect(tmp_path / "daemon.db") as db:  # an older version wrote a NaN into its log
        db.execute(
            "INSERT INTO events (at, kind_id, payload, site_id, schema_version, software_version) "
            "SELECT at + 1000, kind_id, ?, site_id, schema_version, 'old' FROM events WHERE seq = 1",
            ('{"grid_w":NaN,"import_kwh":Infinity}',),
        )
    log.append_many(readings(clock, 1))
    worker.run_round()

    assert worker.health.healthy
    assert not [e for e in worker.drain() if e.kind == "source_stale"], "a bad event is no server outage"
    assert stored_seqs(engine) == [1, 2, 3]
    assert stored_payload(engine, 2) == {"grid_w": None, "import_kwh": None}
    log.append_many(readings(clock, 3))
    clock.advance(10)
    worker.run_round()
    assert {1, 2, 3, 4, 5, 6, 7} <= set(stored_seqs(engine))
    log.close()


def test_any_exception_is_a_fault_of_one_exchange_not_the_end_of_the_worker(tmp_path: Path) -> None:
    clock = ManualClock(START)

    class Exploding:
        name = "file"

        def __init__(self) -> None:
            self.calls = 0

        def fetch(self, etag: str | None) -> Any:
            self.calls += 1
            raise RuntimeError("boom")

    source = Exploding()
    worker = make_worker(clock, None, None, source)
    worker.run_round()  # old code: the RuntimeError ends run_round (and the thread)
    assert worker.health.problem == "schedule: RuntimeError: boom"
    worker.run_round()
    assert source.calls == 1, "backed off"
    clock.advance(MAX_BACKOFF_S + 1)
    worker.run_round()
    assert source.calls == 2


def test_the_watch_reports_unhealthy_once_and_recovered() -> None:
    from controller.daemon.server_worker import WorkerHealth

    watch = WorkerWatch()
    assert watch.observe(alive=True, health=WorkerHealth(True), now=START) == []
    bad = WorkerHealth(False, "upload: EventLogError: disk full")
    first = watch.observe(alive=True, health=bad, now=START)
    assert [type(e) for e in first] == [WorkerUnhealthy]
    assert watch.observe(alive=True, health=bad, now=START + timedelta(seconds=1)) == []
    dead = watch.observe(alive=False, health=WorkerHealth(True), now=START + timedelta(seconds=2))
    assert isinstance(dead[0], WorkerUnhealthy) and "ended" in dead[0].problem
    back = watch.observe(alive=True, health=WorkerHealth(True), now=START + timedelta(seconds=12))
    assert isinstance(back[0], WorkerRecovered) and back[0].unhealthy_s == 12.0


def test_doctor_names_an_unhealthy_worker_until_it_recovers(tmp_path: Path) -> None:
    from controller.doctor import Status, _worker
    from controller.domain.events import DaemonStarted
    from controller.settings import Settings

    settings = Settings(site_id="faults", database_path=tmp_path / "daemon.db")
    log = EventLog.open_sqlite(settings.database_path, site_id="faults")
    log.append(DaemonStarted(at=START, version="t", config_digest="x"))
    assert _worker(settings).status is Status.OK
    log.append(WorkerUnhealthy(at=START, problem="upload: EventLogError: database or disk is full"))
    check = _worker(settings)
    assert check.status is Status.WARN and "disk is full" in check.detail
    log.append(WorkerRecovered(at=START + timedelta(minutes=5), unhealthy_s=300.0))
    assert _worker(settings).status is Status.OK
    log.close()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the ending is the point
def test_a_worker_thread_that_ended_anyway_is_reported_and_started_again() -> None:
    clock = ManualClock(START)
    calls: list[int] = []

    def status() -> StatusReport:
        calls.append(1)
        if len(calls) == 1:
            raise SystemExit("a BaseException no exchange catches")
        return StatusReport(state="NetZero", software_version="t", heartbeat_at=clock.now())

    client = ServerClient("http://127.0.0.1:9", "faults", "token", timeout_s=1)  # nothing listens on 9
    w = ServerWorker(
        clock=clock, limits=LimitSettings(), schedule_source=None, schedule_interval_s=300, forwarder=None,
        client=client, status_interval_s=60, status=status,
    )  # fmt: skip
    w.start()
    deadline = time.monotonic() + 30
    while w.alive:  # bounded poll on the real thread
        assert time.monotonic() < deadline
        time.sleep(0.01)
    watch = WorkerWatch()
    [event] = watch.observe(alive=w.alive, health=w.health, now=START)
    assert isinstance(event, WorkerUnhealthy) and "ended" in event.problem
    assert w.restart_if_dead() and w.alive
    assert not w.restart_if_dead(), "only a dead thread is restarted"
    w.stop(timeout_s=30)
    assert not w.alive and not w.restart_if_dead(), "a stopped worker stays stopped"
    client.close()
