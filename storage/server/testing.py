"""Run the server in-process on loopback for tests, the daemon's end-to-end tests and the demo."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from controller.clock import Clock, SystemClock
from storage.server.config import KEEP_ALIVE_S

__all__ = ["free_port", "run_server"]

LOGGER = logging.getLogger(__name__)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def run_server(
    app: FastAPI,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    startup_timeout_s: float = 10.0,
    clock: Clock | None = None,
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a background thread; yields the base URL (``http://127.0.0.1:PORT``)."""
    if host not in ("127.0.0.1", "::1", "localhost"):
        raise ValueError("the test server only listens on loopback")
    clock = clock or SystemClock()
    port = port or free_port(host)
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", access_log=False, lifespan="on",
        timeout_keep_alive=int(KEEP_ALIVE_S),
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"zsm-server-{port}", daemon=True)
    thread.start()
    deadline = clock.monotonic() + startup_timeout_s
    while not server.started:
        if not thread.is_alive() or clock.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        clock.sleep(0.01)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
