"""HTTP client of the zsm web server: schedule fetch (ETag), event ingest, status posts.

Only this module (and the schedule URL source) talks to the server. Transport problems, 5xx and 429
become :class:`ServerUnavailable` (transient: retry later); other refusals become :class:`ServerRejected`.

Every request here is idempotent (the server keys events by seq), so a request that meets a connection the
server closed between two requests (the keep-alive race) is sent once more on a fresh connection before
it counts as a failure. Floats that JSON cannot carry (NaN, infinities) go up as ``null``.

The requests go over one kept-alive connection through the daemon's small HTTP client
(:class:`~controller.devices.http.LanClient`, about 0.2 ms of CPU an exchange against 1.5–2.5 ms through
``requests``), with TLS from the standard ``ssl`` module for an ``https`` URL. The certificate is checked
as ``requests`` checked it: against ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` when set, else the
``certifi`` bundle, with the host name. When the environment names a proxy for the server (``HTTPS_PROXY``
and the like, which ``requests`` honours), the requests go through ``requests`` as before.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import ssl
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

from pydantic import ValidationError

from controller.devices.errors import DeviceError
from controller.devices.http import LanClient
from controller.domain.schedule import MAX_SCHEDULE_BYTES
from controller.wire import IngestReply, StatusReport
from storage.event_log import LogIdentity, RawEvent

if TYPE_CHECKING:
    import requests

__all__ = [
    "FetchedSchedule",
    "ServerClient",
    "ServerError",
    "ServerRejected",
    "ServerUnavailable",
    "StatusReport",
    "parse_schedule_document",
    "read_bounded",
    "too_large",
]

LOGGER = logging.getLogger(__name__)


class ServerError(Exception):
    """The server could not be used for this request."""


class ServerUnavailable(ServerError):
    """Transient: no connection, a timeout, 5xx or 429. Try again later."""


class ServerRejected(ServerError):
    """The server refused the request (bad token, unknown site, invalid body). Retrying will not help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class FetchedSchedule:
    """A schedule document from a source.

    ``body`` is ``None`` when it did not change (304) or could not be read; ``error`` then says why the
    document is unusable (not JSON, not an object), which rejects it like an invalid schedule.
    """

    body: dict[str, Any] | None
    etag: str | None
    version: int | None = None
    error: str | None = None


def json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by ``None``, which JSON can carry."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def events_body(events: Sequence[RawEvent], identity: LogIdentity | None = None) -> bytes:
    """The ingest request body: each event as :func:`raw_event_json` shapes it, with its stored payload
    passed through as it is (compact JSON, decoded only when it may hold a NaN or an infinity)."""
    strings: dict[str, str] = {}

    def string(text: str) -> str:
        quoted = strings.get(text)
        if quoted is None:
            quoted = strings[text] = json.dumps(text)
        return quoted

    parts: list[str] = []
    for event in events:
        payload = event.payload_json
        if "NaN" in payload or "Infinity" in payload:  # json.dumps's non-finite floats (older rows)
            payload = _json_text(json_safe(event.payload))
        parts.append(
            f'{{"seq":{int(event.seq)},"at":"{event.at.isoformat()}","kind":{string(event.kind)},'
            f'"payload":{payload},"schema_version":{int(event.schema_version)},'
            f'"software_version":{string(event.software_version)}}}'
        )
    tail = (
        ""
        if identity is None
        else f',"log_id":{string(identity.log_id)},"log_first_seq":{int(identity.first_seq)}'
    )
    return f'{{"events":[{",".join(parts)}]{tail}}}'.encode()


def raw_event_json(event: RawEvent) -> dict[str, Any]:
    """The ingest wire shape of one stored event (see :class:`controller.wire.IngestEvent`)."""
    return {
        "seq": event.seq,
        "at": event.at.isoformat(),
        "kind": event.kind,
        "payload": json_safe(event.payload),
        "schema_version": event.schema_version,
        "software_version": event.software_version,
    }


def read_bounded(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Up to :data:`MAX_SCHEDULE_BYTES` from ``chunks``; ``True`` when there was more (it is not read)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        if len(buffer) > MAX_SCHEDULE_BYTES:
            return bytes(buffer[: MAX_SCHEDULE_BYTES + 1]), True
    return bytes(buffer), False


def too_large(prefix: bytes, etag: str | None) -> FetchedSchedule:
    """The rejection of a document past :data:`MAX_SCHEDULE_BYTES` (keyed by its first bytes)."""
    tag = etag or hashlib.sha256(prefix).hexdigest()[:16] + "-too-large"
    return FetchedSchedule(None, tag, error=f"document larger than {MAX_SCHEDULE_BYTES} bytes")


def parse_schedule_document(
    text: str | bytes, etag: str | None, version: int | None = None
) -> FetchedSchedule:
    """A fetched document: the JSON object, or the reason it cannot be a schedule."""
    try:
        body = json.loads(text)
    except ValueError as err:
        return FetchedSchedule(None, etag, version, error=f"not JSON: {err}")
    if not isinstance(body, dict):
        return FetchedSchedule(None, etag, version, error="not a JSON object")
    return FetchedSchedule(body, etag, version)


def connection_dropped(err: requests.ConnectionError) -> bool:
    """Whether an established connection was closed under the request (not: refused, timed out)."""
    import urllib3

    return any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in err.args)


@dataclass(frozen=True)
class _Reply:
    """One server reply: status, headers (names in lower case), body; ``more`` when the body went past the
    limit of the request and only its first bytes were read."""

    status: int
    content: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    more: bool = False

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


def ca_file() -> str:
    """The CA bundle ``requests`` verifies server certificates with: ``REQUESTS_CA_BUNDLE``, else
    ``CURL_CA_BUNDLE``, else ``certifi``'s."""
    chosen = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if chosen:
        return chosen
    import certifi

    return str(certifi.where())


def tls_context() -> ssl.SSLContext:
    """A client context that checks the server's certificate chain (against :func:`ca_file`) and name."""
    bundle = ca_file()
    if os.path.isdir(bundle):
        return ssl.create_default_context(capath=bundle)
    return ssl.create_default_context(cafile=bundle)


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (as ``requests`` would use it), if any."""
    if not any(name.lower().endswith("_proxy") for name in os.environ):
        return None  # the usual case, without loading urllib.request (and http.client, email, ...)
    import urllib.request

    parts = urlsplit(url)
    proxies = urllib.request.getproxies()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    return proxy


class _Direct:
    """Requests over one kept-alive connection (TLS for ``https``) through :class:`LanClient`."""

    def __init__(self, base_url: str, token: str, timeout_s: float) -> None:
        parts = urlsplit(base_url)
        tls = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if tls else 80)
        self.prefix = parts.path.rstrip("/")
        self.timeout_s = timeout_s
        self.auth = f"Bearer {token}"
        self.http = LanClient(max_body=4 << 20, tls=tls_context() if tls else None)

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], max_body: int | None
    ) -> _Reply:
        what = f"{self.host}:{self.port}"
        try:
            response = self.http.request(
                method, self.host, self.port, f"{self.prefix}{path}", timeout_s=self.timeout_s, what=what,
                endpoint=None, body=body, headers={"Authorization": self.auth, **headers}, check=False,
                idempotent=True, max_body=max_body, truncate=max_body is not None,
            )  # fmt: skip
        except DeviceError as err:
            raise ServerUnavailable(str(err)) from err
        return _Reply(response.status_code, response.content, response.headers, response.truncated)

    def close(self) -> None:
        self.http.close()


class _ViaRequests:
    """Requests through a ``requests`` session (used when a proxy is configured, or a session given)."""

    def __init__(self, base_url: str, token: str, timeout_s: float, session: requests.Session | None) -> None:
        import requests  # only here: the direct transport keeps about 10 MB of it out of the daemon

        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        import requests

        try:
            return self.session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.ConnectionError as err:
            if not connection_dropped(err):
                raise
            LOGGER.debug("%s %s met a closed keep-alive connection; sending it again", method, url)
            return self.session.request(method, url, timeout=self.timeout_s, **kwargs)

    def send(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str], max_body: int | None
    ) -> _Reply:
        import requests

        try:
            with self._request(
                method, self.base_url + path, data=body, headers=headers, stream=True
            ) as response:
                if max_body is None:
                    content, more = response.content, False
                else:
                    content, more = read_bounded(response.iter_content(64 * 1024))
                found = {name.lower(): value for name, value in response.headers.items()}
                return _Reply(response.status_code, content, found, more)
        except requests.RequestException as err:
            raise ServerUnavailable(f"{err.__class__.__name__}: {err}") from err

    def close(self) -> None:
        self.session.close()


class ServerClient:
    """The daemon's view of one site on the zsm server."""

    def __init__(
        self,
        base_url: str,
        site: str,
        token: str,
        *,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.site = site
        self.timeout_s = timeout_s
        self._transport: _Direct | _ViaRequests
        if session is not None or not _direct_url(self.base_url) or proxy_for(self.base_url):
            self._transport = _ViaRequests(self.base_url, token, timeout_s, session)
        else:
            self._transport = _Direct(self.base_url, token, timeout_s)

    def _send(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        max_body: int | None = None,
    ) -> _Reply:
        try:
            reply = self._transport.send(
                method, f"/api/v1/sites/{self.site}/{path}", body, headers or {}, max_body
            )
        except ServerUnavailable as err:
            raise ServerUnavailable(f"{method} {path}: {err}") from err.__cause__
        if reply.status >= 500 or reply.status == 429:
            raise ServerUnavailable(f"{method} {path}: HTTP {reply.status}")
        if reply.status >= 400:
            raise ServerRejected(f"{method} {path}: HTTP {reply.status}: {reply.text[:300]}", reply.status)
        return reply

    def get_schedule(self, etag: str | None) -> FetchedSchedule:
        """The site's schedule; ``body=None`` when it still matches ``etag``."""
        headers = {"If-None-Match": etag} if etag else {}
        reply = self._send("GET", "schedule", headers=headers, max_body=MAX_SCHEDULE_BYTES)
        version_text = reply.headers.get("x-schedule-version")
        version = int(version_text) if version_text and version_text.isdigit() else None
        new_etag = reply.headers.get("etag", etag)
        if reply.status == 304:
            return FetchedSchedule(None, new_etag, version)
        if reply.more:
            return too_large(reply.content, new_etag)
        return parse_schedule_document(reply.content, new_etag, version)

    def post_events(self, events: Sequence[RawEvent], identity: LogIdentity | None = None) -> IngestReply:
        """Store a batch of the log ``identity``; the reply says up to which seq the server holds every
        event, and which events it rejected (and why)."""
        reply = self._send("POST", "events", body=events_body(events, identity), headers=_JSON)
        try:
            return IngestReply.model_validate_json(reply.content)
        except ValidationError as err:
            raise ServerRejected(f"unexpected ingest reply: {reply.text[:200]!r}", reply.status) from err

    def post_status(self, status: StatusReport) -> None:
        """Post the liveness status."""
        self._send("POST", "status", body=status.model_dump_json().encode(), headers=_JSON)

    def close(self) -> None:
        self._transport.close()


_JSON: Final = {"Content-Type": "application/json"}


def _direct_url(url: str) -> bool:
    """Whether ``url`` is a plain ``http(s)://host[:port][/path]`` (anything else goes to ``requests``,
    whose errors say what is wrong with it)."""
    try:
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.query


def _json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def heartbeat(state: str, now: datetime, version: str) -> StatusReport:
    """A bare status (used before the first tick)."""
    return StatusReport(state=state, software_version=version, heartbeat_at=now)
