"""HomeWizard P1 meter, local API v2: HTTPS with the HomeWizard CA, bearer token, WebSocket push.

TLS: the chain is verified against HomeWizard's CA (shipped with zsm as ``homewizard_ca.pem``, or ``ca_file``)
and the certificate name against ``appliance/p1dongle/<serial>`` when the serial is known (only the chain
otherwise). HomeWizard's CA is an X.509 v1 certificate without extensions, which Python 3.13's default strict
verification refuses; the context for it allows a partial chain and leaves strict X.509 checks off.
Pairing: ``POST /api/user`` answers 403 ``user:creation-not-enabled`` until the button on the device is
pressed, then a token.
The measurement carries the meter's own time (``timestamp``, local time without zone).
"""

from __future__ import annotations

import json
import logging
import ssl
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import requests
from pydantic import BaseModel, ConfigDict, ValidationError
from requests.adapters import HTTPAdapter
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from controller.clock import Clock
from controller.devices.errors import (
    ApiDisabled,
    DeviceResponseError,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
)
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import http_request, json_body
from controller.devices.meters.base import NewDataFilter
from controller.devices.meters.homewizard_v1 import HomeWizardDevice
from controller.domain.events import MeterReading

__all__ = [
    "ButtonNotPressed",
    "HomeWizardV2Measurement",
    "HomeWizardV2Meter",
    "HomeWizardV2Push",
    "HOMEWIZARD_CA",
    "request_token",
    "tls_context",
]

LOGGER = logging.getLogger(__name__)

TOKEN_NAME_PREFIX = "local/"


class ButtonNotPressed(DeviceResponseError):
    """Pairing: the device refuses to create a user until its button is pressed (403)."""


HOMEWIZARD_CA = Path(__file__).with_name("homewizard_ca.pem")
"""HomeWizard's published "Appliance Access CA" (X.509 v1), as shipped by python-homewizard-energy."""


def tls_context(ca_file: Path | str | None, serial: str | None) -> tuple[ssl.SSLContext, str | None]:
    """An SSL context trusting only the HomeWizard CA, and the name to check (``appliance/p1dongle/<sn>``).

    ``ca_file`` replaces the shipped HomeWizard CA (e.g. a simulator's). This context trusts nothing else, so
    relaxing it for the v1 CA (no strict X.509, partial chain allowed) affects no other connection.
    """
    context = ssl.create_default_context(cafile=str(ca_file or HOMEWIZARD_CA))
    context.verify_flags = (context.verify_flags & ~ssl.VERIFY_X509_STRICT) | ssl.VERIFY_X509_PARTIAL_CHAIN
    context.hostname_checks_common_name = True
    if serial:
        return context, f"appliance/p1dongle/{serial.lower()}"
    context.check_hostname = False
    LOGGER.warning("HomeWizard v2: no serial known, verifying the certificate chain but not its name")
    return context, None


class _TLSAdapter(HTTPAdapter):
    def __init__(self, context: ssl.SSLContext, server_hostname: str | None) -> None:
        self._context = context
        self._server_hostname = server_hostname
        super().__init__()

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **kwargs: Any) -> None:
        kwargs["ssl_context"] = self._context
        if self._server_hostname:
            kwargs["server_hostname"] = self._server_hostname
            kwargs["assert_hostname"] = self._server_hostname
        else:
            kwargs["assert_hostname"] = False
        super().init_poolmanager(connections, maxsize, block, **kwargs)


def _session(ca_file: Path | str | None, serial: str | None) -> requests.Session:
    context, name = tls_context(ca_file, serial)
    session = requests.Session()
    session.mount("https://", _TLSAdapter(context, name))
    session.verify = str(ca_file or HOMEWIZARD_CA)  # requests would otherwise add certifi's CAs
    return session


class HomeWizardV2Measurement(BaseModel):
    """``GET /api/measurement`` (P1 fields used by zsm; the rest is ignored)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    protocol_version: int | None = None
    meter_model: str | None = None
    timestamp: str | None = None
    power_w: float | None = None
    power_l1_w: float | None = None
    power_l2_w: float | None = None
    power_l3_w: float | None = None
    energy_import_kwh: float | None = None
    energy_export_kwh: float | None = None

    def meter_time(self, zone: ZoneInfo) -> datetime | None:
        """The meter's time as aware UTC (the wire value is local time without a zone)."""
        if not self.timestamp:
            return None
        try:
            local = datetime.fromisoformat(self.timestamp)
        except ValueError:
            return None
        if local.tzinfo is None:
            local = local.replace(tzinfo=zone)
        return local.astimezone(UTC)

    def to_reading(self, at: datetime, zone: ZoneInfo) -> MeterReading:
        phases = [p for p in (self.power_l1_w, self.power_l2_w, self.power_l3_w) if p is not None]
        grid = self.power_w if self.power_w is not None else (sum(phases) if phases else None)
        if grid is None:
            raise InvalidPayload("HomeWizard measurement has no power_w")
        return MeterReading(
            at=at,
            grid_w=float(grid),
            meter_time=self.meter_time(zone),
            phases_w=tuple(float(p) for p in phases) or None,
            import_kwh=self.energy_import_kwh,
            export_kwh=self.energy_export_kwh,
        )


def _split(endpoint: HostResolver | str, port: int) -> HostResolver:
    return as_resolver(endpoint, port)


def request_token(
    endpoint: HostResolver | str,
    name: str,
    *,
    port: int = 443,
    ca_file: Path | str | None = None,
    serial: str | None = None,
    timeout_s: float = 5.0,
) -> str:
    """One pairing attempt (``POST /api/user``); :class:`ButtonNotPressed` until the button was pressed."""
    resolver = _split(endpoint, port)
    host, real_port = resolver.address()
    user = name if name.startswith(TOKEN_NAME_PREFIX) else f"{TOKEN_NAME_PREFIX}{name}"
    session = _session(ca_file, serial)
    try:
        response = http_request(
            session,
            "POST",
            f"https://{host}:{real_port}/api/user",
            timeout_s=timeout_s,
            what="HomeWizard pairing",
            json={"name": user},
            headers={"X-Api-Version": "2"},
            verify=str(ca_file or HOMEWIZARD_CA),
        )
    except ApiDisabled as err:
        raise ButtonNotPressed(
            "press the button on the P1 meter, then try again within 30 s", status=403
        ) from err
    finally:
        session.close()
    token = json_body(response, "HomeWizard pairing").get("token")
    if not isinstance(token, str) or not token:
        raise InvalidPayload("HomeWizard pairing reply has no token")
    return token


class HomeWizardV2Meter:
    """Polls ``/api/measurement`` over HTTPS with a bearer token."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        token: str,
        serial: str | None = None,
        ca_file: Path | str | None = None,
        port: int = 443,
        timeout_s: float = 2.0,
        meter_timezone: str = "Europe/Amsterdam",
    ) -> None:
        self._endpoint = _split(endpoint, port)
        self._clock = clock
        self._token = token
        self.timeout_s = timeout_s
        self._zone = ZoneInfo(meter_timezone)
        self._session = _session(ca_file, serial)
        self._verify = str(ca_file or HOMEWIZARD_CA)
        self._filter = NewDataFilter()

    def _get(self, path: str) -> Any:
        host, port = self._endpoint.address()
        response = http_request(
            self._session,
            "GET",
            f"https://{host}:{port}{path}",
            timeout_s=self.timeout_s,
            what=f"HomeWizard v2 {path}",
            endpoint=self._endpoint,
            headers={"Authorization": f"Bearer {self._token}", "X-Api-Version": "2"},
            verify=self._verify,
        )
        return json_body(response, f"HomeWizard v2 {path}")

    def device(self) -> HomeWizardDevice:
        try:
            return HomeWizardDevice.model_validate(self._get("/api"))
        except ValidationError as err:
            raise InvalidPayload(f"HomeWizard v2 /api: {err}") from err

    def measurement(self) -> HomeWizardV2Measurement:
        try:
            return HomeWizardV2Measurement.model_validate(self._get("/api/measurement"))
        except ValidationError as err:
            raise InvalidPayload(f"HomeWizard v2 /api/measurement: {err}") from err

    def reading(self) -> MeterReading:
        return self.measurement().to_reading(self._clock.now(), self._zone)

    def read(self) -> MeterReading | None:
        reading = self.reading()
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        self._session.close()


class HomeWizardV2Push:
    """The ``/api/ws`` WebSocket: authorise, subscribe to ``measurement``, keep the newest push.

    ``read()`` drains every pushed message and returns the newest measurement when it is new data; it waits
    up to ``wait_s`` when nothing is queued. A dropped connection raises :class:`DeviceUnreachable` and is
    re-opened on the next read.
    """

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        token: str,
        serial: str | None = None,
        ca_file: Path | str | None = None,
        port: int = 443,
        timeout_s: float = 5.0,
        wait_s: float = 2.0,
        meter_timezone: str = "Europe/Amsterdam",
    ) -> None:
        self._endpoint = _split(endpoint, port)
        self._clock = clock
        self._token = token
        self._serial = serial
        self._ca_file = ca_file
        self.timeout_s = timeout_s
        self.wait_s = wait_s
        self._zone = ZoneInfo(meter_timezone)
        self._ws: ClientConnection | None = None
        self._filter = NewDataFilter()

    def _expect(self, ws: ClientConnection, wanted: str) -> dict[str, Any]:
        message = json.loads(ws.recv(timeout=self.timeout_s))
        if not isinstance(message, dict):
            raise InvalidPayload(f"HomeWizard ws: unexpected message {message!r}")
        if message.get("type") == "error":
            detail = str(message.get("data"))
            if "unauthor" in detail.lower():
                raise DeviceUnauthorized(f"HomeWizard ws: {detail}")
            raise DeviceResponseError(f"HomeWizard ws: {detail}")
        if message.get("type") != wanted:
            raise InvalidPayload(f"HomeWizard ws: expected {wanted}, got {message.get('type')}")
        return message

    def _open(self) -> ClientConnection:
        host, port = self._endpoint.address()
        context, name = tls_context(self._ca_file, self._serial)
        try:
            ws = connect(
                f"wss://{host}:{port}/api/ws",
                ssl=context,
                server_hostname=name or host,
                open_timeout=self.timeout_s,
                close_timeout=1,
                legacy=True,
            )
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as err:
            self._endpoint.failed()
            raise DeviceUnreachable(f"HomeWizard ws {host}:{port}: {err}") from err
        try:
            self._expect(ws, "authorization_requested")
            ws.send(json.dumps({"type": "authorization", "data": self._token}))
            self._expect(ws, "authorized")
            ws.send(json.dumps({"type": "subscribe", "data": "measurement"}))
        except (ConnectionClosed, TimeoutError, ValueError) as err:
            ws.close()
            raise DeviceUnreachable(f"HomeWizard ws handshake failed: {err}") from err
        except DeviceResponseError:
            ws.close()
            raise
        self._endpoint.succeeded()
        return ws

    def read(self) -> MeterReading | None:
        if self._ws is None:
            self._ws = self._open()
        ws = self._ws
        newest: dict[str, Any] | None = None
        timeout = 0.0
        try:
            while True:
                try:
                    raw = ws.recv(timeout=timeout)
                except TimeoutError:
                    if newest is not None or timeout > 0:
                        break
                    timeout = self.wait_s
                    continue
                message = json.loads(raw)
                if isinstance(message, dict) and message.get("type") == "measurement":
                    newest = message.get("data")
                    timeout = 0.0
        except ConnectionClosed as err:
            self.close()
            raise DeviceUnreachable(f"HomeWizard ws closed: {err}") from err
        except ValueError as err:
            raise InvalidPayload(f"HomeWizard ws: bad JSON: {err}") from err
        if newest is None:
            return None
        try:
            measurement = HomeWizardV2Measurement.model_validate(newest)
        except ValidationError as err:
            raise InvalidPayload(f"HomeWizard ws measurement: {err}") from err
        reading = measurement.to_reading(self._clock.now(), self._zone)
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        if self._ws is not None:
            try:
                self._ws.close()
            finally:
                self._ws = None
