"""The one seam where ``requests`` exceptions become device errors (for the meter adapters)."""

from __future__ import annotations

import json
from typing import Any

import requests

from controller.devices.errors import (
    ApiDisabled,
    DeviceResponseError,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
)
from controller.devices.hosts import HostResolver

__all__ = ["http_request", "json_body", "lan_session"]


def lan_session() -> requests.Session:
    """A session for devices on the LAN: no proxy from the environment (and no per-request env scan)."""
    session = requests.Session()
    session.trust_env = False
    return session


def http_request(
    session: requests.Session,
    method: str,
    url: str,
    *,
    timeout_s: float,
    what: str,
    endpoint: HostResolver | None = None,
    **kwargs: Any,
) -> requests.Response:
    """One request. Transport failures → :class:`DeviceUnreachable` / :class:`DeviceTimeout`;
    401 → :class:`DeviceUnauthorized`, 403 → :class:`ApiDisabled`, other non-2xx →
    :class:`DeviceResponseError`.
    """
    try:
        response = session.request(method, url, timeout=(timeout_s, timeout_s), **kwargs)
        _ = response.content
    except requests.exceptions.ConnectTimeout as err:
        if endpoint is not None:
            endpoint.failed()
        raise DeviceUnreachable(f"{what}: connect timeout") from err
    except requests.exceptions.Timeout as err:
        if endpoint is not None:
            endpoint.failed()
        raise DeviceTimeout(f"{what}: no answer within {timeout_s} s") from err
    except requests.exceptions.SSLError as err:
        raise DeviceResponseError(f"{what}: TLS verification failed: {err}") from err
    except requests.exceptions.ConnectionError as err:
        if endpoint is not None:
            endpoint.failed()
        raise DeviceUnreachable(f"{what}: {err.__class__.__name__}") from err
    except requests.exceptions.RequestException as err:
        raise DeviceResponseError(f"{what}: {err}") from err
    if endpoint is not None:
        endpoint.succeeded()
    status = response.status_code
    if 200 <= status < 300:
        return response
    detail = response.text[:200]
    if status == 401:
        raise DeviceUnauthorized(f"{what}: HTTP 401 {detail}", status=status)
    if status == 403:
        raise ApiDisabled(f"{what}: HTTP 403 {detail}", status=status)
    raise DeviceResponseError(f"{what}: HTTP {status} {detail}", status=status)


def json_body(response: requests.Response, what: str) -> Any:
    """The JSON body (whatever the Content-Type); :class:`InvalidPayload` when it is not JSON."""
    try:
        return json.loads(response.text)
    except ValueError as err:
        raise InvalidPayload(f"{what}: body is not JSON: {response.text[:120]!r}") from err
