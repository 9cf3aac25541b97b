"""HTTP client of the zsm web server: schedule fetch (ETag), event ingest, status posts.

Only this module (and the schedule URL source) talks to the server. Transport problems, 5xx and 429
become :class:`ServerUnavailable` (transient: retry later); other refusals become :class:`ServerRejected`.

Every request here is idempotent (the server keys events by seq), so a request that meets a connection the
server closed between two requests (the keep-alive race) is sent once more on a fresh connection before
it counts as a failure. Floats that JSON cannot carry (NaN, infinities) go up as ``null``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import requests
import urllib3
from pydantic import ValidationError

from controller.domain.schedule import MAX_SCHEDULE_BYTES
from controller.wire import IngestReply, StatusReport
from storage.event_log import LogIdentity, RawEvent

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
    return any(isinstance(arg, urllib3.exceptions.ProtocolError) for arg in err.args)


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
        self._session = session or requests.Session()
        self._session.headers["Authorization"] = f"Bearer {token}"

    def _url(self, path: str) -> str:
        return f"{self.base_url}/api/v1/sites/{self.site}/{path}"

    def _send(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            try:
                response = self._session.request(method, self._url(path), timeout=self.timeout_s, **kwargs)
            except requests.ConnectionError as err:
                if not connection_dropped(err):
                    raise
                LOGGER.debug("%s %s met a closed keep-alive connection; sending it again", method, path)
                response = self._session.request(method, self._url(path), timeout=self.timeout_s, **kwargs)
        except requests.RequestException as err:
            raise ServerUnavailable(f"{method} {path}: {err.__class__.__name__}: {err}") from err
        if response.status_code >= 500 or response.status_code == 429:
            raise ServerUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ServerRejected(
                f"{method} {path}: HTTP {response.status_code}: {response.text[:300]}", response.status_code
            )
        return response

    def get_schedule(self, etag: str | None) -> FetchedSchedule:
        """The site's schedule; ``body=None`` when it still matches ``etag``."""
        headers = {"If-None-Match": etag} if etag else {}
        with self._send("GET", "schedule", headers=headers, stream=True) as response:
            version_text = response.headers.get("X-Schedule-Version")
            version = int(version_text) if version_text and version_text.isdigit() else None
            new_etag = response.headers.get("ETag", etag)
            if response.status_code == 304:
                return FetchedSchedule(None, new_etag, version)
            try:
                content, more = read_bounded(response.iter_content(64 * 1024))
            except requests.RequestException as err:
                raise ServerUnavailable(f"GET schedule: {err.__class__.__name__}: {err}") from err
        if more:
            return too_large(content, new_etag)
        return parse_schedule_document(content, new_etag, version)

    def post_events(self, events: Sequence[RawEvent], identity: LogIdentity | None = None) -> IngestReply:
        """Store a batch of the log ``identity``; the reply says up to which seq the server holds every
        event, and which events it rejected (and why)."""
        body: dict[str, Any] = {"events": [raw_event_json(e) for e in events]}
        if identity is not None:
            body.update(log_id=identity.log_id, log_first_seq=identity.first_seq)
        response = self._send("POST", "events", json=body)
        try:
            return IngestReply.model_validate_json(response.content)
        except ValidationError as err:
            raise ServerRejected(
                f"unexpected ingest reply: {response.text[:200]!r}", response.status_code
            ) from err

    def post_status(self, status: StatusReport) -> None:
        """Post the liveness status."""
        self._send(
            "POST", "status", data=status.model_dump_json(), headers={"Content-Type": "application/json"}
        )

    def close(self) -> None:
        self._session.close()


def heartbeat(state: str, now: datetime, version: str) -> StatusReport:
    """A bare status (used before the first tick)."""
    return StatusReport(state=state, software_version=version, heartbeat_at=now)
