"""The daemon's exchanges with the server (issue 13): a changed schedule within 60 s at the cost of 304s, a
keep-alive connection closed under a request is no outage, recovery after a long outage is noticed within
60 s, the worker's health reaches the status, and schedule documents are bounded whatever their source."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from controller.clock import ManualClock
from controller.daemon.schedule_source import (
    FileScheduleSource,
    ServerScheduleSource,
    UrlScheduleSource,
    check_schedule,
)
from controller.daemon.server_client import ServerClient, StatusReport
from controller.daemon.server_worker import ServerWorker
from controller.domain.events import ScheduleLoaded, ScheduleRejected, SourceRecovered, SourceStale
from controller.domain.schedule import MAX_SCHEDULE_BYTES, MAX_SLOTS
from controller.settings import LimitSettings
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services import schedules, sites
from storage.server.testing import free_port, run_server

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
GOOD: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "recurring": [{"id": "evening", "days": ["tue"], "start": "17:00", "end": "23:00", "mode": "netzero"}],
    "dated": [],
}


def status_of(clock: ManualClock) -> StatusReport:
    return StatusReport(state="NetZero", software_version="t", heartbeat_at=clock.now())


def worker(
    clock: ManualClock, *, source: Any = None, client: ServerClient | None = None, **kw: Any
) -> ServerWorker:
    return ServerWorker(
        clock=clock, limits=LimitSettings(), schedule_source=source, schedule_interval_s=300, forwarder=None,
        client=client, status_interval_s=60, status=lambda: status_of(clock), **kw,
    )  # fmt: skip


class Counting(ServerScheduleSource):
    def __init__(self, client: ServerClient) -> None:
        super().__init__(client)
        self.asked: list[str | None] = []

    def fetch(self, etag: str | None) -> Any:
        self.asked.append(etag)
        return super().fetch(etag)


def test_a_changed_schedule_is_picked_up_within_60_s_with_304s_between(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp_path / 's.db'}"), clock=clock)
    engine = app.state.zsm.engine
    site, token = sites.create_site(engine, "home", NOW)
    schedules.put_schedule(engine, site, GOOD, schedules.current_schedule(engine, site).etag, "test", NOW)
    with run_server(app) as url:
        client = ServerClient(url, "home", token)
        source = Counting(client)
        w = worker(clock, source=source, check_interval_s=30)
        w.run_round()
        [loaded] = w.drain()
        assert isinstance(loaded, ScheduleLoaded)
        for _ in range(3):  # unchanged: conditional checks, nothing new
            clock.advance(30)
            w.run_round()
        assert w.drain() == []
        assert source.asked[1:] == [loaded.etag] * 3, "each check is a conditional GET"

        edited = {**GOOD, "default": {"mode": "netzero"}}
        schedules.put_schedule(engine, site, edited, loaded.etag, "test", clock.now())
        picked_after = 0
        while not (new := w.drain()):
            clock.advance(10)
            picked_after += 10
            w.run_round()
            assert picked_after <= 60, "a changed schedule is picked up within 60 s"
        assert isinstance(new[0], ScheduleLoaded) and new[0].schedule["default"] == {"mode": "netzero"}

        clock.advance(300)  # the full fetch as the upper bound: no If-None-Match, and no news either
        w.run_round()
        assert source.asked[-1] is None and w.drain() == []
        client.close()


class DropSecondRequest:
    """An HTTP/1.1 peer that closes a kept-alive connection after reading its second request, unanswered
    (what uvicorn does when its keep-alive timeout fires as the daemon sends)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self._handle, args=(conn, self.connections), daemon=True).start()

    def _handle(self, conn: socket.socket, number: int) -> None:
        stream = conn.makefile("rb")
        with conn:
            served = 0
            while True:
                head = b""
                while not head.endswith(b"\r\n\r\n"):
                    line = stream.readline()
                    if not line:
                        return
                    head += line
                length = next(
                    (
                        int(h.split(b":")[1])
                        for h in head.split(b"\r\n")
                        if h.lower().startswith(b"content-length")
                    ),
                    0,
                )
                stream.read(length)
                self.requests += 1
                served += 1
                if number == 1 and served == 2:
                    return  # closed under the request, unanswered
                body = b'{"ok": true}'
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    def close(self) -> None:
        self.sock.close()


def test_a_keep_alive_connection_closed_under_a_request_is_retried_not_an_outage() -> None:
    peer = DropSecondRequest()
    clock = ManualClock(NOW)
    client = ServerClient(f"http://127.0.0.1:{peer.port}", "home", "token", timeout_s=5)
    w = worker(clock, client=client)
    w.run_round()
    clock.advance(61)
    w.run_round()  # this post meets the closed connection
    assert not [e for e in w.drain() if isinstance(e, SourceStale)], "no outage declared"
    assert peer.requests == 3 and peer.connections == 2, "sent once more, on a fresh connection"
    client.close()
    peer.close()


def test_after_a_long_outage_the_server_is_noticed_back_within_60_s(tmp_path: Path) -> None:
    clock = ManualClock(NOW)
    app = create_app(ServerConfig(database_url=f"sqlite+pysqlite:///{tmp_path / 's.db'}"), clock=clock)
    _, token = sites.create_site(app.state.zsm.engine, "home", NOW)
    port = free_port()
    client = ServerClient(f"http://127.0.0.1:{port}", "home", token, timeout_s=2)
    w = worker(clock, client=client)
    for _ in range(3 * 3600 // 5):  # three hours without a server
        w.run_round()
        clock.advance(5)
    assert [type(e) for e in w.drain()] == [SourceStale]
    with run_server(app, port=port):
        waited = 0
        while not [e for e in w.drain() if isinstance(e, SourceRecovered)]:
            clock.advance(1)
            waited += 1
            w.run_round()
            assert waited <= 60, "recovery noticed within 60 s"
        reply = requests.get(
            f"http://127.0.0.1:{port}/api/v1/sites/home/status",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
    client.close()
    status = reply.json()
    assert "worker_healthy" in json.dumps(status), "the status carries the worker's health"


def test_file_source_stops_reading_at_the_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "huge.json"
    with path.open("w") as out:  # a valid document, but far past the limit
        out.write('{"timezone": "Europe/Amsterdam", "default": {"mode": "standby"}, "note": "')
        out.write("x" * (4 * MAX_SCHEDULE_BYTES))
        out.write('"}')
    clock = ManualClock(NOW)
    w = worker(clock, source=FileScheduleSource(path))
    w.run_round()
    [rejected] = w.drain()
    assert isinstance(rejected, ScheduleRejected)
    assert f"larger than {MAX_SCHEDULE_BYTES} bytes" in rejected.errors[0]
    clock.advance(300)
    w.run_round()
    assert w.drain() == [], "the same oversized file is not rejected again and again"


class _Endless(BaseHTTPRequestHandler):
    sent = 0

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"timezone": "Europe/Amsterdam", "note": "')
        chunk = b"y" * 65536
        try:
            for _ in range(256):  # 16 MB, then it gives up (a test must end), as good as endless here
                self.wfile.write(chunk)
                type(self).sent += len(chunk)
        except OSError:
            return

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def endless_host() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Endless)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/schedule.json"
    server.shutdown()
    server.server_close()


def test_url_source_streams_and_stops_at_the_size_limit(endless_host: str) -> None:
    fetched = UrlScheduleSource(endless_host).fetch(None)
    assert fetched.body is None and fetched.error is not None
    assert f"larger than {MAX_SCHEDULE_BYTES} bytes" in fetched.error


def test_too_many_slots_are_rejected_before_validation() -> None:
    slots = [
        {"id": f"s{i}", "days": ["mon"], "start": "00:00", "end": "00:01", "mode": "standby"}
        for i in range(MAX_SLOTS + 1)
    ]
    errors = check_schedule({**GOOD, "recurring": slots}, LimitSettings())
    assert errors == [f"schedule: {MAX_SLOTS + 1} slots; at most {MAX_SLOTS} are allowed"]


def test_a_loaded_schedule_is_not_validated_again_on_the_control_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from controller.domain.inputs import Inputs
    from controller.domain.schedule import Schedule

    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(GOOD))
    clock = ManualClock(NOW)
    w = worker(clock, source=FileScheduleSource(path))
    w.run_round()  # the worker validates
    [loaded] = w.drain()
    assert isinstance(loaded, ScheduleLoaded)

    def no_validation(*_args: Any, **_kw: Any) -> Any:
        raise AssertionError("validated on the control thread")

    monkeypatch.setattr(Schedule, "model_validate", no_validation)
    inputs = Inputs(LimitSettings().domain())
    assert inputs.apply(loaded)
    assert inputs.schedule is not None and inputs.schedule.recurring[0].id == "evening"


def test_the_worker_is_due_only_when_an_exchange_is(tmp_path: Path) -> None:
    """The control loop wakes the worker only then (not every tick); its clock is the daemon's."""
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(GOOD))
    clock = ManualClock(NOW)
    w = worker(clock, source=FileScheduleSource(path), check_interval_s=30)
    assert w.due(), "the first round is due at once"
    w.run_round()
    assert not w.due()
    clock.advance(29.9)
    assert not w.due()
    clock.advance(0.1)
    assert w.due(), "the schedule check is due after its interval"
    w.run_round()
    assert not w.due()

    port = free_port()  # nothing listens: the status post fails and the worker backs off
    down = worker(clock, client=ServerClient(f"http://127.0.0.1:{port}", "home", "t", timeout_s=2))
    assert down.due()
    down.run_round()
    assert [type(e) for e in down.drain()] == [SourceStale]
    assert not down.due(), "not due while backing off"
    clock.advance(4)
    assert down.due(), "the retry after the back-off is due"
