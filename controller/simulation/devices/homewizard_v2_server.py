"""A simulated HomeWizard P1 meter, API v2: HTTPS with a run-time CA, token pairing, WebSocket push.

Per ../shared/protocols/p1-meters.md §1.2 and §5.2: ``POST /api/user`` answers 403
``user:creation-not-enabled`` until :meth:`HomeWizardV2Server.press_button`, then issues a 32-hex token for
30 s; every other endpoint needs ``Authorization: Bearer`` (401 ``user:unauthorized``); ``/api/measurement``
carries the meter's local time without zone; ``/api/ws`` runs authorization → subscribe → push.
Runs uvicorn (FastAPI) in a background thread; needs ``cryptography`` for the certificates.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import socket
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from controller.clock import Clock
from controller.simulation.devices.homewizard_server import HomeWizardFaults, MeterView, measurement_fields
from controller.simulation.devices.ports import MeterPort
from controller.simulation.devices.telegrams import Profile
from controller.simulation.devices.tls import SimulatedPki, make_pki

__all__ = ["HomeWizardV2Server"]

LOGGER = logging.getLogger(__name__)

USER_NAME = re.compile(r"^local/[a-zA-Z0-9\-_/\\# ]{1,40}$")
BUTTON_WINDOW_S = 30.0
TOPICS = {"*", "device", "user", "measurement", "system", "batteries"}


class HomeWizardV2Server:
    """HomeWizard P1 meter, API v2 over HTTPS on ``host:port``; ``ca_file`` is the CA clients must trust."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        serial: str = "3c39e7aabbcc",
        profile: Profile = "nl5",
        clock_offset_s: float = 0.0,
        faults: HomeWizardFaults | None = None,
        pki_dir: Path | None = None,
        view: MeterView | None = None,
        tokens: dict[str, str] | None = None,
        push_interval_s: float = 0.1,
    ) -> None:
        self.clock = clock
        self.host = host
        self._port = port
        self.serial = serial.lower()
        self.faults = faults or HomeWizardFaults()
        self.view = view or MeterView(meter, clock, profile=profile, clock_offset_s=clock_offset_s)
        self.tokens: dict[str, str] = dict(tokens or {})
        """user name → token."""
        self.push_interval_s = push_interval_s
        self._button_at: float | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._pki_dir = pki_dir
        self.pki: SimulatedPki | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None

    # -- control ------------------------------------------------------------------------------------------
    @property
    def ca_file(self) -> Path:
        if self.pki is None:
            raise RuntimeError("HomeWizard v2 server not started")
        return self.pki.ca_file

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("HomeWizard v2 server not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self.port}"

    def press_button(self) -> None:
        """Simulate the button press that allows one user creation in the next 30 s."""
        self._button_at = self.clock.monotonic()

    def _button_active(self) -> bool:
        return self._button_at is not None and self.clock.monotonic() - self._button_at <= BUTTON_WINDOW_S

    def _authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Bearer "):
            return False
        return header.removeprefix("Bearer ").strip() in self.tokens.values()

    # -- app ----------------------------------------------------------------------------------------------
    def _app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        unauthorized = {"error": "user:unauthorized"}

        def auth_failed(request: Request) -> JSONResponse | None:
            if self.faults.api_disabled:
                return JSONResponse({"error": "api:disabled"}, status_code=403)
            if not self._authorized(request.headers.get("authorization")):
                return JSONResponse(unauthorized, status_code=401)
            return None

        @app.post("/api/user")
        async def create_user(request: Request) -> Response:
            try:
                body = json.loads(await request.body() or b"{}")
            except ValueError:
                return JSONResponse({"error": "request:malformed-json"}, status_code=400)
            name = body.get("name") if isinstance(body, dict) else None
            if not isinstance(name, str) or not USER_NAME.match(name):
                return JSONResponse({"error": "request:invalid-value"}, status_code=400)
            if not self._button_active():
                return JSONResponse({"error": "user:creation-not-enabled"}, status_code=403)
            token = secrets.token_hex(16).upper()
            self.tokens[name] = token  # reusing a name invalidates its old token
            return JSONResponse({"name": name, "token": token})

        @app.get("/api/user")
        async def list_users(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            return JSONResponse([{"name": name, "current": False} for name in self.tokens])

        @app.delete("/api/user")
        async def delete_user(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            body = json.loads(await request.body() or b"{}")
            self.tokens.pop(str(body.get("name")), None)
            return Response(status_code=204)

        @app.get("/api")
        async def device(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            return JSONResponse(
                {
                    "product_name": "P1 Meter",
                    "product_type": "HWE-P1",
                    "serial": self.serial,
                    "firmware_version": "6.00",
                    "api_version": "2.0.0",
                }
            )

        @app.get("/api/measurement")
        async def measurement(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            if self.faults.latency_s > 0:
                await asyncio.sleep(self.faults.latency_s)
            current = self.view.current()
            if current is None:
                return JSONResponse({})
            return JSONResponse(measurement_fields(self.view, current[0], v2=True))

        @app.get("/api/telegram")
        async def telegram(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            current = self.view.current()
            return PlainTextResponse(current[1] if current else "")

        @app.get("/api/system")
        async def system(request: Request) -> Response:
            failed = auth_failed(request)
            if failed is not None:
                return failed
            return JSONResponse(
                {"wifi_rssi_db": -60, "uptime_s": 1000, "cloud_enabled": True, "api_v1_enabled": True}
            )

        @app.websocket("/api/ws")
        async def ws(websocket: WebSocket) -> None:
            await websocket.accept()
            await websocket.send_json({"type": "authorization_requested", "data": {"api_version": "2.0.0"}})
            try:
                message = json.loads(await asyncio.wait_for(websocket.receive_text(), timeout=40))
                if message.get("type") != "authorization" or message.get("data") not in self.tokens.values():
                    await websocket.send_json({"type": "error", "data": {"message": "user:unauthorized"}})
                    await websocket.close()
                    return
                await websocket.send_json({"type": "authorized"})
                subscribed: set[str] = set()
                last_at = None
                while True:
                    try:
                        raw = await asyncio.wait_for(websocket.receive_text(), timeout=self.push_interval_s)
                        request = json.loads(raw)
                        if request.get("type") == "subscribe" and request.get("data") in TOPICS:
                            subscribed.add(str(request["data"]))
                        elif request.get("type") == "unsubscribe":
                            subscribed.discard(str(request.get("data")))
                    except TimeoutError:
                        pass
                    if subscribed & {"*", "measurement"}:
                        current = self.view.current()
                        if current is not None and current[0].at != last_at:
                            last_at = current[0].at
                            data = measurement_fields(self.view, current[0], v2=True)
                            await websocket.send_json({"type": "measurement", "data": data})
            except (WebSocketDisconnect, TimeoutError, ValueError, RuntimeError):
                return

        return app

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        import uvicorn

        if self._pki_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="zsm-hw-")
            self._pki_dir = Path(self._tmp.name)
        self.pki = make_pki(self._pki_dir, self.serial, now=self.clock.now())
        self._sock = socket.create_server((self.host, self._port))
        config = uvicorn.Config(
            self._app(),
            ssl_certfile=str(self.pki.cert_file),
            ssl_keyfile=str(self.pki.key_file),
            log_level="critical",
            lifespan="off",
            ws="websockets-sansio",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        sock = self._sock
        self._thread = threading.Thread(
            target=lambda: self._server.run(sockets=[sock]), name="sim-homewizard-v2", daemon=True
        )
        self._thread.start()
        started = threading.Event()
        for _ in range(200):
            if self._server.started:
                started.set()
                break
            started.wait(0.025)
        if not started.is_set():
            raise RuntimeError("HomeWizard v2 simulator did not start")
        LOGGER.info("simulated HomeWizard v2 listening on %s (CA %s)", self.url, self.pki.ca_file)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None
