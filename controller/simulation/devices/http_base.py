"""A small threaded HTTP server on loopback with start/stop, for the simulated devices."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Handler", "LoopbackHTTPServer", "Reply"]

LOGGER = logging.getLogger(__name__)

Reply = tuple[int, str, bytes] | None
"""``(status, content type, body)``; ``None`` drops the connection without an answer."""

Handler = Callable[[str, str, dict[str, str], bytes], Reply]
"""``handler(method, path_with_query, headers, body) -> Reply``."""


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

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
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

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
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
