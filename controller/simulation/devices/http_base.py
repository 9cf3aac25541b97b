"""A small threaded HTTP server on loopback with start/stop, for the simulated devices.

HTTP/1.1 with keep-alive, as any HTTP/1.1 server: a connection stays open for the next request unless the
client asks ``Connection: close`` (or speaks HTTP/1.0), the handler drops it (a ``None`` reply), or it
stays idle for :data:`IDLE_TIMEOUT_S`. Whether the real devices keep connections is not known (see
``shared/protocols``); clients must cope with both. :meth:`LoopbackHTTPServer.stop` also closes the kept
connections, so a stopped device is unreachable at once."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final

__all__ = ["IDLE_TIMEOUT_S", "Handler", "LoopbackHTTPServer", "Reply"]

LOGGER = logging.getLogger(__name__)

IDLE_TIMEOUT_S: Final = 30.0
"""A kept connection with no request for this long is closed by the simulated device."""

Reply = tuple[int, str, bytes] | None
"""``(status, content type, body)``; ``None`` drops the connection without an answer."""

Handler = Callable[[str, str, dict[str, str], bytes], Reply]
"""``handler(method, path_with_query, headers, body) -> Reply``."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.open_connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        self.connections_accepted = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.open_connections.add(request)
            self.connections_accepted += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def close_kept_connections(self) -> None:
        with self.connections_lock:
            kept = list(self.open_connections)
        for sock in kept:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOGGER.debug("simulated device: connection from %s ended with an error", client_address)


class LoopbackHTTPServer:
    """Serves ``handler`` on ``host:port`` (port 0 = any free port) in a background thread."""

    def __init__(
        self, handler: Handler, *, host: str = "127.0.0.1", port: int = 0, name: str = "device"
    ) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._name = name
        self._server: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self._name} server not started")
        return int(self._server.server_address[1])

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (a client that keeps its connection adds one)."""
        return self._server.connections_accepted if self._server is not None else 0

    @property
    def host(self) -> str:
        return self._host

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def start(self) -> None:
        outer = self

        class _Req(BaseHTTPRequestHandler):
            server_version = "SimDevice/1.0"
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT_S  # an idle kept connection is closed after this

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                LOGGER.debug("%s: " + format, outer._name, *args)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = outer._handler(self.command, self.path, headers, body)
                if reply is None:
                    self.close_connection = True
                    return
                status, ctype, data = reply
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                if self.close_connection:  # the client asked for it (or spoke HTTP/1.0)
                    self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802
                self._serve()

            def do_POST(self) -> None:  # noqa: N802
                self._serve()

            def do_PUT(self) -> None:  # noqa: N802
                self._serve()

            def do_DELETE(self) -> None:  # noqa: N802
                self._serve()

        self._server = _QuietServer((self._host, self._port), _Req)
        server = self._server
        self._thread = threading.Thread(
            target=lambda: server.serve_forever(poll_interval=0.05), name=f"sim-{self._name}", daemon=True
        )
        self._thread.start()
        LOGGER.info("simulated %s listening on %s", self._name, self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_kept_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
