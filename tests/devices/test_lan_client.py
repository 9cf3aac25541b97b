"""The control tick's small HTTP client against scripted loopback peers: keep-alive, a device that closed
the idle connection, chunked and close-delimited bodies, limits and timeouts."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import pytest

from controller.devices.errors import DeviceTimeout, DeviceUnreachable, InvalidPayload
from controller.devices.http import LanClient
from tests.http_peer import Peer, Script, reply


@pytest.fixture
def serve() -> Iterator[Callable[[Script], Peer]]:
    peers: list[Peer] = []

    def start(script: Script) -> Peer:
        peers.append(Peer(script))
        return peers[-1]

    yield start
    for peer in peers:
        peer.close()


def get(client: LanClient, peer: Peer, path: str = "/x") -> bytes:
    return client.get("127.0.0.1", peer.port, path, timeout_s=2.0, what="peer", endpoint=None).content


def test_one_connection_carries_every_request_while_the_device_keeps_it(
    serve: Callable[[Script], Peer],
) -> None:
    def script(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(b"hello", "Content-Length: 5"))
        return True

    peer = serve(script)
    client = LanClient()
    assert [get(client, peer) for _ in range(5)] == [b"hello"] * 5
    assert peer.connections == 1
    assert peer.requests[0].startswith(b"GET /x HTTP/1.1\r\nHost: 127.0.0.1:")
    client.close()


def test_a_connection_the_device_closed_while_idle_is_replaced_not_failed(
    serve: Callable[[Script], Peer],
) -> None:
    def script(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(b"ok", "Content-Length: 2"))  # says nothing about closing, then closes
        return False

    peer = serve(script)
    client = LanClient()
    for _ in range(3):
        assert get(client, peer) == b"ok"
    assert peer.connections == 3
    assert len(peer.requests) == 3  # no request was lost on (or sent twice to) a dead connection


def test_connection_close_chunked_and_close_delimited_bodies(serve: Callable[[Script], Peer]) -> None:
    replies = iter(
        [
            reply(b"4\r\nabcd\r\n3;ext=1\r\nefg\r\n0\r\nX-Trailer: 1\r\n\r\n", "Transfer-Encoding: chunked"),
            reply(b"closing", "Content-Length: 7", "Connection: close"),
            b"HTTP/1.0 200 OK\r\n\r\nuntil the end",
        ]
    )

    def script(conn: socket.socket, _request: bytes) -> bool:
        data = next(replies)
        conn.sendall(data)
        return b"chunked" in data

    peer = serve(script)
    client = LanClient()
    assert get(client, peer) == b"abcdefg"
    assert get(client, peer) == b"closing"
    assert get(client, peer) == b"until the end"
    assert peer.connections == 2


def test_post_sends_its_body_and_headers(serve: Callable[[Script], Peer]) -> None:
    def script(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(b"", "Content-Length: 0", status="204 No Content"))
        return True

    peer = serve(script)
    client = LanClient()
    response = client.request(
        "POST", "127.0.0.1", peer.port, "/w", timeout_s=2.0, what="peer", endpoint=None,
        body=b'{"a":1}', headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert response.status_code == 204
    request = peer.requests[0]
    assert b"Content-Type: application/json\r\n" in request
    assert b"Content-Length: 7\r\n" in request
    assert request.endswith(b'\r\n\r\n{"a":1}')


def test_limits_and_failures_are_device_errors(serve: Callable[[Script], Peer]) -> None:
    def big(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(reply(b"x" * 100, "Content-Length: 100"))
        return True

    with pytest.raises(InvalidPayload, match="larger than 10 bytes"):
        get(LanClient(max_body=10), serve(big))

    def garbage(conn: socket.socket, _request: bytes) -> bool:
        conn.sendall(b"SSH-2.0-OpenSSH\r\n\r\n")
        return False

    with pytest.raises(DeviceUnreachable):
        get(LanClient(), serve(garbage))

    def hang_up(_conn: socket.socket, _request: bytes) -> bool:
        return False

    with pytest.raises(DeviceUnreachable, match="ConnectionResetError"):
        get(LanClient(), serve(hang_up))

    silent = threading.Event()

    def silence(_conn: socket.socket, _request: bytes) -> bool:
        silent.wait(5)
        return False

    client = LanClient()
    with pytest.raises(DeviceTimeout, match="no answer within 0.2 s"):
        client.request(
            "GET", "127.0.0.1", serve(silence).port, "/", timeout_s=0.2, what="peer", endpoint=None
        )
    silent.set()

    closed = socket.create_server(("127.0.0.1", 0))
    port = int(closed.getsockname()[1])
    closed.close()
    with pytest.raises(DeviceUnreachable, match="ConnectionRefusedError"):
        client.request("GET", "127.0.0.1", port, "/", timeout_s=1.0, what="peer", endpoint=None)
