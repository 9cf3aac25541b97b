"""One wire contract: the daemon's client and the server validate the same models from controller/wire.py.

A real daemon client (``ServerClient``) talks to a real server on loopback; the ingest reply and the status
it posts are the wire models on both ends, and the server's published schema is the wire model's.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller import wire
from controller.clock import ManualClock
from controller.daemon import forwarder, server_client
from controller.domain.events import DeviceFault, MeterReading
from storage.database import sqlite_url
from storage.event_log import EventLog
from storage.server import schedule_model
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.routes import api
from storage.server.services import ingest
from storage.server.services.sites import create_site
from storage.server.testing import run_server

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str, ManualClock]]:
    clock = ManualClock(T0)
    app = create_app(ServerConfig(database_url=sqlite_url(tmp_path / "server.db")), clock=clock)
    _site, token = create_site(app.state.zsm.engine, "home", clock.now())
    with run_server(app) as base_url:
        yield base_url, token, clock


def test_both_sides_use_the_wire_models() -> None:
    assert server_client.StatusReport is wire.StatusReport
    assert ingest.IngestBatch is wire.IngestBatch and api.StatusReport is wire.StatusReport
    assert api.IngestReply is wire.IngestReply
    source = inspect.getsource(forwarder) + inspect.getsource(server_client)
    assert 'highest_contiguous_seq"]' not in source  # the reply is parsed as the wire model, not by hand


def test_server_imports_the_schedule_model_plainly() -> None:
    source = inspect.getsource(schedule_model)
    assert "importlib" not in source
    with pytest.raises(Exception, match="schedule is invalid"):
        schedule_model.validate_schedule({"default": {"mode": "charge"}})  # power_w missing
    assert schedule_model.default_schedule()["default"]["mode"] == "standby"


def test_published_ingest_schema_is_the_wire_model(served: tuple[str, str, ManualClock]) -> None:
    import requests

    base_url, _token, _clock = served
    published = requests.get(f"{base_url}/openapi.json", timeout=10).json()["components"]["schemas"]
    expected = wire.IngestBatch.model_json_schema(ref_template="#/components/schemas/{model}")
    expected.pop("$defs", None)
    assert published["IngestBatch"] == expected


def test_daemon_client_round_trip(served: tuple[str, str, ManualClock], tmp_path: Path) -> None:
    base_url, token, clock = served
    log = EventLog.open_sqlite(tmp_path / "daemon.db", "home")
    log.append_many([MeterReading(at=T0 + timedelta(seconds=i), grid_w=100.0 + i) for i in range(5)])
    log.append(DeviceFault(at=T0 + timedelta(seconds=6), source="battery", detail="bad\x00byte"))
    log.append(MeterReading(at=T0 + timedelta(seconds=7), grid_w=1.0))
    client = server_client.ServerClient(base_url, "home", token)
    try:
        reply = client.post_events(log.read_raw_after(0), log.identity())
        assert isinstance(reply, wire.IngestReply)
        assert reply.stored == 6 and reply.highest_contiguous_seq == 7
        assert [(r.seq, "NUL" in r.reason) for r in reply.rejected] == [(6, True)]
        status = wire.StatusReport(
            state="NetZero",
            software_version="t",
            heartbeat_at=clock.now(),
            max_charge_w=800,
            worker_healthy=False,
            worker_problem="disk full",
        )
        client.post_status(status)
        import requests

        stored = requests.get(
            f"{base_url}/api/v1/sites/home/status", headers={"Authorization": f"Bearer {token}"}, timeout=10
        ).json()
        assert stored["worker_healthy"] is False and stored["worker_problem"] == "disk full"
        with pytest.raises(server_client.ServerRejected):  # a daemon cannot lift the limit check
            client.post_status(status.model_copy(update={"max_charge_w": 10**9}))
    finally:
        client.close()
        log.close()


def test_the_forwarder_moves_past_a_rejected_event(
    served: tuple[str, str, ManualClock], tmp_path: Path
) -> None:
    base_url, token, _clock = served
    log = EventLog.open_sqlite(tmp_path / "daemon.db", "home")
    log.append(MeterReading(at=T0, grid_w=1.0))
    log.append(DeviceFault(at=T0 + timedelta(seconds=1), source="meter", detail="\x00"))
    log.append_many([MeterReading(at=T0 + timedelta(seconds=2 + i), grid_w=2.0) for i in range(3)])
    client = server_client.ServerClient(base_url, "home", token)
    try:
        shipper = forwarder.Forwarder(log, client, batch=2)
        sent = [shipper.forward_once() for _ in range(4)]
        assert sent == [2, 2, 1, 0]  # never stuck on the bad event
        assert shipper.cursor == log.last_seq() == 5
        assert shipper.rejected == 1
    finally:
        client.close()
        log.close()
