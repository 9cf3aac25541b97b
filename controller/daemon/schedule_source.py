"""Where the schedule comes from: the zsm server (default), any URL serving schedule JSON, or a file.

Every source returns the raw document; :func:`check_schedule` validates it with the same model and
device limits whatever the source, so a bad schedule is rejected with its errors and the last good one
stays in force. Sources read at most :data:`MAX_SCHEDULE_BYTES` (the URL source streams and stops), and a
document with more than :data:`MAX_SLOTS` slots is rejected before it is validated. All of this runs on
the server-I/O worker, never on the control thread.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError

from controller.daemon.server_client import (
    FetchedSchedule,
    ServerClient,
    ServerRejected,
    ServerUnavailable,
    parse_schedule_document,
    read_bounded,
    too_large,
)
from controller.domain.schedule import MAX_SCHEDULE_BYTES, MAX_SLOTS, Schedule
from controller.settings import LimitSettings, ScheduleSourceSettings

if TYPE_CHECKING:
    import requests

__all__ = [
    "FileScheduleSource",
    "ScheduleSource",
    "ServerScheduleSource",
    "UrlScheduleSource",
    "build_schedule_source",
    "check_schedule",
    "validate_schedule",
]


class ScheduleSource(Protocol):
    """Something that can be asked for the current schedule document."""

    name: str

    def fetch(self, etag: str | None) -> FetchedSchedule:
        """The document, or ``body=None`` when unchanged since ``etag``. Raises a ServerError subclass."""
        ...


def check_schedule(raw: dict[str, Any], limits: LimitSettings) -> list[str]:
    """Every problem of ``raw`` as ``"where: message"`` lines (empty when the schedule is valid)."""
    return validate_schedule(raw, limits)[1]


def validate_schedule(raw: dict[str, Any], limits: LimitSettings) -> tuple[Schedule | None, list[str]]:
    """``raw`` as a :class:`Schedule` when valid, else ``None`` and its first problems (and how many more)."""
    slots = sum(len(part) for part in (raw.get("recurring"), raw.get("dated")) if isinstance(part, list))
    if slots > MAX_SLOTS:
        return None, [f"schedule: {slots} slots; at most {MAX_SLOTS} are allowed"]
    try:
        schedule = Schedule.model_validate(raw)
        schedule.validate_against(limits.max_charge_w, limits.max_discharge_w)
    except ValidationError as err:
        problems = err.errors()
        lines = [
            f"{'.'.join(str(p) for p in e['loc']) or 'schedule'}: {e['msg']}" for e in problems[:MAX_ERRORS]
        ]
        if len(problems) > MAX_ERRORS:
            lines.append(f"schedule: {len(problems) - MAX_ERRORS} more problems")
        return None, lines
    except ValueError as err:
        return None, [f"schedule: {err}"]
    return schedule, []


MAX_ERRORS = 20


class ServerScheduleSource:
    """The site's schedule on the zsm server (ETag / If-None-Match)."""

    name = "server"

    def __init__(self, client: ServerClient) -> None:
        self._client = client

    def fetch(self, etag: str | None) -> FetchedSchedule:
        return self._client.get_schedule(etag)


class UrlScheduleSource:
    """A schedule JSON file on any web host, with optional basic auth or a bearer token."""

    name = "url"

    def __init__(
        self,
        url: str,
        *,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        import requests  # loaded only for a URL source (about 10 MB)

        self.url = url
        self.timeout_s = timeout_s
        self._session = session or requests.Session()
        if username is not None:
            self._session.auth = (username, password or "")
        if bearer_token:
            self._session.headers["Authorization"] = f"Bearer {bearer_token}"

    def fetch(self, etag: str | None) -> FetchedSchedule:
        import requests

        headers = {"If-None-Match": etag} if etag else {}
        try:
            with self._session.get(
                self.url, headers=headers, timeout=self.timeout_s, stream=True
            ) as response:
                if response.status_code == 304:
                    return FetchedSchedule(None, etag)
                if response.status_code >= 500 or response.status_code == 429:
                    raise ServerUnavailable(f"GET {self.url}: HTTP {response.status_code}")
                if response.status_code >= 400:
                    raise ServerRejected(f"GET {self.url}: HTTP {response.status_code}", response.status_code)
                content, more = read_bounded(response.iter_content(64 * 1024))
                header_etag = response.headers.get("ETag")
        except requests.RequestException as err:
            raise ServerUnavailable(f"GET {self.url}: {err.__class__.__name__}: {err}") from err
        if more:
            return too_large(content, header_etag)
        new_etag = header_etag or hashlib.sha256(content).hexdigest()[:16]
        if etag is not None and new_etag == etag:
            return FetchedSchedule(None, etag)
        return parse_schedule_document(content, new_etag)


class FileScheduleSource:
    """A schedule JSON file on the Pi (re-read when its content changes)."""

    name = "file"

    def __init__(self, path: Path) -> None:
        self.path = path

    def fetch(self, etag: str | None) -> FetchedSchedule:
        try:
            with self.path.open("rb") as file:
                content = file.read(MAX_SCHEDULE_BYTES + 1)
        except OSError as err:
            raise ServerUnavailable(f"cannot read {self.path}: {err}") from err
        if len(content) > MAX_SCHEDULE_BYTES:
            return too_large(content, None)
        digest = hashlib.sha256(content).hexdigest()[:16]
        if digest == etag:
            return FetchedSchedule(None, etag)
        return parse_schedule_document(content, digest)


def build_schedule_source(
    settings: ScheduleSourceSettings, client: ServerClient | None, timeout_s: float = 10.0
) -> ScheduleSource | None:
    """The configured source (``None`` when the server is the source but no server is configured)."""
    if settings.source == "file":
        assert settings.path is not None
        return FileScheduleSource(settings.path)
    if settings.source == "url":
        assert settings.url is not None
        return UrlScheduleSource(
            settings.url,
            username=settings.username,
            password=settings.password.get_secret_value() if settings.password else None,
            bearer_token=settings.bearer_token.get_secret_value() if settings.bearer_token else None,
            timeout_s=timeout_s,
        )
    return ServerScheduleSource(client) if client is not None else None
