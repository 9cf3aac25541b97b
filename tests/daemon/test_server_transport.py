"""The server client's own transport (one kept-alive connection, TLS through ``ssl``) against scripted
loopback peers: certificates are checked as ``requests`` checked them (the CA from ``REQUESTS_CA_BUNDLE`` /
``CURL_CA_BUNDLE`` / certifi, the host name), the exchanges share one connection, timeouts and refusals map
to the same errors, a failed upload loses nothing, and a proxy from the environment is still honoured."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.daemon.forwarder import Forwarder
from controller.daemon.server_client import ServerClient, ServerRejected, ServerUnavailable, StatusReport
from controller.domain.events import MeterReading
from controller.domain.schedule import MAX_SCHEDULE_BYTES
from storage.event_log import EventLog
from tests.http_peer import Peer, PeerPki, Script, make_test_pki, reply

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
SCHEDULE = b'{"timezone": "Europe/Amsterdam", "default": {"mode": "standby"}}'


@pytest.fixture
def serve() -> Iterator[Callable[..., Peer]]:
    peers: list[Peer] = []

    def start(script: Script, tls: PeerPki | None = None) -> Peer:
        peers.append(Peer(script, tls.server_context() if tls is not None else None))
        return peers[-1]

    yield start
    for peer in peers:
        peer.close()


@pytest.fixture
def no_ca_override(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
                 "http_proxy", "https_proxy", "all_proxy"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def site_server(conn: socket.socket, request: bytes) -> bool:
    """Answers like the zsm server: the schedule (304 when the ETag matches), status, ingest."""
    line = request.split(b"\r\n", 1)[0]
    if line.startswith(b"GET /api/v1/sites/home/schedule"):
        if b'If-None-Match: "v1"' in request:
            conn.sendall(reply(b"", 'ETag: "v1"', "X-Schedule-Version: 1", status="304 Not Modified"))
        else:
            conn.sendall(reply(SCHEDULE, 'ETag: "v1"', "X-Schedule-Version: 1",
                               f"Content-Length: {len(SCHEDULE)}"))  # fmt: skip
    elif line.startswith(b"POST /api/v1/sites/home/status"):
        conn.sendall(reply(b"", "Content-Length: 0", status="204 No Content"))
    else:
        conn.sendall(reply(b"nope", "Content-Length: 4", status="404 Not Found"))
    return True


def status() -> StatusReport:
    return StatusReport(state="NetZero", software_version="t", heartbeat_at=NOW)


def test_tls_exchanges_share_one_connection_checked_against_the_configured_ca(
    serve: Callable[..., Peer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ca_override: None
) -> None:
    pki = make_test_pki(tmp_path / "pki")
    peer = serve(site_server, pki)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(pki.ca_file))
    for host in ("127.0.0.1", "localhost"):  # the certificate names both
        client = ServerClient(f"https://{host}:{peer.port}", "home", "secret", timeout_s=5)
        fetched = client.get_schedule(None)
        assert fetched.body == json.loads(SCHEDULE) and fetched.etag == '"v1"' and fetched.version == 1
        client.post_status(status())
        again = client.get_schedule(fetched.etag)
        assert again.body is None and again.error is None and again.etag == '"v1"'
        client.close()
    assert peer.connections == 2 and peer.failed_handshakes == 0, "one kept connection per client"
    first = peer.requests[0]
    assert first.startswith(b"GET /api/v1/sites/home/schedule HTTP/1.1\r\n")
    assert f"Host: 127.0.0.1:{peer.port}\r\n".encode() in first
    assert b"Authorization: Bearer secret\r\n" in first
    assert b'If-None-Match: "v1"\r\n' in peer.requests[2]
    assert peer.requests[1].endswith(status().model_dump_json().encode())

    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    monkeypatch.setenv("CURL_CA_BUNDLE", str(pki.ca_file))  # the other variable requests reads
    client = ServerClient(f"https://127.0.0.1:{peer.port}", "home", "secret", timeout_s=5)
    client.post_status(status())
    client.close()


def test_an_untrusted_or_misnamed_certificate_is_refused_before_any_request(
    serve: Callable[..., Peer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_ca_override: None
) -> None:
    pki = make_test_pki(tmp_path / "pki")
    peer = serve(site_server, pki)
    client = ServerClient(f"https://127.0.0.1:{peer.port}", "home", "secret", timeout_s=5)  # certifi only
    with pytest.raises(ServerUnavailable, match="POST status: .*TLS: .*CERTIFICATE_VERIFY_FAILED"):
        client.post_status(status())

    other = make_test_pki(tmp_path / "other", names=("zsm.example.org",), ip=None)
    misnamed = serve(site_server, other)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other.ca_file))
    client = ServerClient(f"https://127.0.0.1:{misnamed.port}", "home", "secret", timeout_s=5)
    with pytest.raises(ServerUnavailable, match="TLS: .*(mismatch|doesn't match|not valid for)"):
        client.get_schedule(None)
    assert peer.requests == [] and misnamed.requests == [], "nothing is sent to an unverified server"


def test_timeouts_refusals_and_server_errors_keep_their_meaning(
    serve: Callable[..., Peer], no_ca_override: None
) -> None:
    silent = threading.Event()

    def silence(_conn: socket.socket, _request: bytes) -> bool:
        silent.wait(5)
        return False

    client = ServerClient(f"http://127.0.0.1:{serve(silence).port}", "home", "t", timeout_s=0.3)
    with pytest.raises(ServerUnavailable, match=r"POST status: .*no answer within 0.3 s"):
        client.post_status(status())
    silent.set()

    closed = socket.create_server(("127.0.0.1", 0))
    port = int(closed.getsockname()[1])
    closed.close()
    client = ServerClient(f"http://127.0.0.1:{port}", "home", "t", timeout_s=1)
    with pytest.raises(ServerUnavailable, match="GET schedule: .*ConnectionRefusedError"):
        client.get_schedule(None)

    answers: list[tuple[str, type[Exception]]] = [
        ("503 Service Unavailable", ServerUnavailable),
        ("429 Too Many Requests", ServerUnavailable),
        ("401 Unauthorized", ServerRejected),
        ("422 Unprocessable Entity", ServerRejected),
    ]

    def refusing(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(b'{"detail":"no"}', "Content-Length: 15", status=current[0]))
        return True

    peer = serve(refusing)
    client = ServerClient(f"http://127.0.0.1:{peer.port}", "home", "t", timeout_s=2)
    for current in answers:
        with pytest.raises(current[1]) as raised:
            client.post_status(status())
        if isinstance(raised.value, ServerRejected):
            assert raised.value.status == int(current[0][:3]) and '{"detail":"no"}' in str(raised.value)
    assert peer.connections == 1, "error replies keep the connection"


def test_an_oversized_schedule_is_cut_at_the_limit(serve: Callable[..., Peer], no_ca_override: None) -> None:
    big = b'{"note": "' + b"x" * (2 * MAX_SCHEDULE_BYTES) + b'"}'

    def oversized(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(big, 'ETag: "big"', f"Content-Length: {len(big)}"))
        return True

    peer = serve(oversized)
    client = ServerClient(f"http://127.0.0.1:{peer.port}", "home", "t", timeout_s=5)
    fetched = client.get_schedule(None)
    assert fetched.body is None and fetched.etag == '"big"'
    assert fetched.error == f"document larger than {MAX_SCHEDULE_BYTES} bytes"
    client.close()


def test_a_failed_upload_loses_nothing_and_is_sent_again(
    serve: Callable[..., Peer], tmp_path: Path, no_ca_override: None
) -> None:
    log = EventLog.open_sqlite(tmp_path / "log.db", site_id="home")
    log.append_many([MeterReading(at=NOW, grid_w=float(w)) for w in range(5)])
    mode = {"answer": False}

    def ingest(conn: socket.socket, request: bytes) -> bool:
        if not mode["answer"]:
            return False  # read it, then hang up unanswered: the events may or may not have arrived
        seqs = [e["seq"] for e in json.loads(request.split(b"\r\n\r\n", 1)[1])["events"]]
        body = json.dumps({"stored": len(seqs), "highest_contiguous_seq": max(seqs)}).encode()
        conn.sendall(reply(body, f"Content-Length: {len(body)}"))
        return True

    peer = serve(ingest)
    client = ServerClient(f"http://127.0.0.1:{peer.port}", "home", "t", timeout_s=2)
    forwarder = Forwarder(log, client)
    with pytest.raises(ServerUnavailable, match="POST events"):
        forwarder.forward_once()
    assert forwarder.cursor == 0, "nothing counts as shipped without the server's word"
    mode["answer"] = True
    assert forwarder.forward_once() == 5
    sent = [json.loads(r.split(b"\r\n\r\n", 1)[1]) for r in peer.requests]
    assert [e["seq"] for e in sent[0]["events"]] == [e["seq"] for e in sent[-1]["events"]] == [1, 2, 3, 4, 5]
    assert forwarder.cursor == 5 and forwarder.forward_once() == 0
    client.close()
    log.close()


def test_a_proxy_named_by_the_environment_is_used(
    serve: Callable[..., Peer], monkeypatch: pytest.MonkeyPatch, no_ca_override: None
) -> None:
    peer = serve(lambda conn, _r: bool(conn.sendall(reply(b"", "Content-Length: 0"))) or True)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{peer.port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    client = ServerClient("http://zsm.invalid", "home", "t", timeout_s=2)
    client.post_status(status())
    assert peer.requests[0].startswith(b"POST http://zsm.invalid/api/v1/sites/home/status HTTP/1.1\r\n")
    client.close()


def test_the_ingest_body_passes_stored_payloads_through_in_the_wire_shape(tmp_path: Path) -> None:
    from controller.daemon.server_client import events_body, raw_event_json
    from controller.domain.events import DaemonStopped

    log = EventLog.open_sqlite(tmp_path / "log.db", site_id="home")
    log.append_many(
        [MeterReading(at=NOW, grid_w=1.5, phases_w=(1.0, 0.5)), DaemonStopped(at=NOW, reason="ünï")]
    )
    with log._db.reading() as connection:  # an older row: json.dumps wrote a NaN and an infinity
        connection.execute(
            "INSERT INTO events (at, kind_id, payload, site_id, schema_version, software_version) "
            "SELECT 1795500000123, kind_id, ?, 'home', 1, '0.9' FROM events WHERE seq = 1",
            (json.dumps({"grid_w": float("nan"), "import_kwh": float("inf"), "note": "NaN"}),),
        )
    rows = log.read_raw_after(0)
    identity = log.identity()
    body = json.loads(events_body(rows, identity))
    assert body == {
        "events": [raw_event_json(row) for row in rows],
        "log_id": identity.log_id,
        "log_first_seq": identity.first_seq,
    }
    assert body["events"][2]["payload"] == {"grid_w": None, "import_kwh": None, "note": "NaN"}
    assert body["events"][1]["payload"]["reason"] == "ünï"
    assert json.loads(events_body(rows[:1])) == {"events": [raw_event_json(rows[0])]}
    log.close()
