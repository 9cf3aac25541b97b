"""Call 5: the schedule from the server, from any URL, or from a file; bad schedules are rejected with their
errors and the last good one stays in force."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from controller.clock import ManualClock
from controller.daemon.schedule_source import FileScheduleSource, UrlScheduleSource, check_schedule
from controller.daemon.server_client import ServerClient, StatusReport
from controller.daemon.server_worker import ServerWorker
from controller.domain.events import ScheduleLoaded, ScheduleRejected
from controller.domain.machine import ControllerCore
from controller.domain.regulator import ZsmRegulator
from controller.settings import LimitSettings
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services import schedules, sites
from storage.server.testing import run_server

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
GOOD = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "recurring": [{"id": "evening", "days": ["tue"], "start": "17:00", "end": "23:00", "mode": "netzero"}],
    "dated": [],
}
TOO_STRONG = {**GOOD, "recurring": [{**GOOD["recurring"][0], "mode": "charge", "power_w": 99_000}]}


def worker_for(source: Any, clock: ManualClock) -> ServerWorker:
    return ServerWorker(
        clock=clock, limits=LimitSettings(), schedule_source=source, schedule_interval_s=300, forwarder=None,
        client=None, status_interval_s=60,
        status=lambda: StatusReport(state="Standby", software_version="t", heartbeat_at=clock.now()),
    )  # fmt: skip


def fetch(worker: ServerWorker, clock: ManualClock) -> list[Any]:
    worker.run_round()
    clock.advance(301)
    return worker.drain()


def test_check_schedule_names_slot_and_field() -> None:
    assert check_schedule(GOOD, LimitSettings()) == []
    errors = check_schedule(TOO_STRONG, LimitSettings())
    assert errors and errors[0].startswith("recurring.0.power_w")
    assert check_schedule({"timezone": "Mars/Olympus"}, LimitSettings())


def test_file_source_loads_rejects_and_keeps_the_last_good(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(GOOD))
    worker = worker_for(FileScheduleSource(path), clock)
    [loaded] = fetch(worker, clock)
    assert isinstance(loaded, ScheduleLoaded) and loaded.schedule == GOOD
    assert fetch(worker, clock) == []  # unchanged file: nothing new
    path.write_text("{ this is not json")
    [unreadable] = fetch(worker, clock)
    assert isinstance(unreadable, ScheduleRejected) and "not JSON" in unreadable.errors[0]
    path.write_text(json.dumps(TOO_STRONG))
    [rejected] = fetch(worker, clock)
    assert isinstance(rejected, ScheduleRejected)
    assert any("power_w" in e for e in rejected.errors)

    core = ControllerCore(LimitSettings().domain(), ZsmRegulator())
    core.handle(loaded)
    core.handle(rejected)
    assert core.inputs.schedule is not None and core.inputs.schedule.recurring[0].mode == "netzero"


class _Handler(BaseHTTPRequestHandler):
    documents: list[tuple[int, bytes, str]] = []

    def do_GET(self) -> None:  # noqa: N802
        status, body, etag = self.documents[0]
        if len(self.documents) > 1:
            self.documents.pop(0)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304)
            self.end_headers()
            return
        assert self.headers.get("Authorization") == "Bearer s3cret"
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def web_host() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/schedule.json"
    server.shutdown()
    server.server_close()


def test_url_source_with_bearer_token_and_etag(web_host: str) -> None:
    clock = ManualClock(NOW)
    _Handler.documents = [
        (200, json.dumps(GOOD).encode(), '"v1"'),
        (200, json.dumps(GOOD).encode(), '"v1"'),
        (200, b"<html>oops</html>", '"v2"'),
        (200, json.dumps(TOO_STRONG).encode(), '"v3"'),
    ]
    worker = worker_for(UrlScheduleSource(web_host, bearer_token="s3cret"), clock)
    [loaded] = fetch(worker, clock)
    assert isinstance(loaded, ScheduleLoaded) and loaded.etag == '"v1"'
    assert fetch(worker, clock) == []  # 304
    [malformed] = fetch(worker, clock)
    assert isinstance(malformed, ScheduleRejected) and "not JSON" in malformed.errors[0]
    [rejected] = fetch(worker, clock)
    assert isinstance(rejected, ScheduleRejected)


def test_server_source_uses_etags(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp_path / 's.db'}"), clock=clock)
    engine = app.state.zsm.engine
    site, token = sites.create_site(engine, "home", NOW)
    schedules.put_schedule(engine, site, GOOD, schedules.current_schedule(engine, site).etag, "test", NOW)
    with run_server(app) as url:
        from controller.daemon.schedule_source import ServerScheduleSource

        worker = worker_for(ServerScheduleSource(ServerClient(url, "home", token)), clock)
        [loaded] = fetch(worker, clock)
        assert isinstance(loaded, ScheduleLoaded)
        assert loaded.version == 1 and loaded.schedule["recurring"] == GOOD["recurring"]
        assert fetch(worker, clock) == []  # If-None-Match -> 304
