"""The one seam where ``requests`` exceptions become device errors (for the meter adapters)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Protocol

import requests
import urllib3
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from controller.devices.errors import (
    ApiDisabled,
    DeviceResponseError,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
)
from controller.devices.hosts import HostResolver

__all__ = ["LanClient", "LanResponse", "http_request", "json_body", "lan_session"]


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


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
    _check_status(response.status_code, response.text if response.status_code >= 300 else "", what)
    return response


@dataclass(frozen=True)
class LanResponse:
    """Status and body of one :class:`LanClient` request."""

    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class LanClient:
    """Plain-HTTP GETs to LAN devices over ``urllib3`` keep-alive pools (one connection per device).

    The control tick's meter read goes through here: ``requests`` adds about 1 ms of CPU per request
    (sessions, hooks, cookies, environment) that a Raspberry Pi 2 turns into 10–20 ms. Errors map like
    :func:`http_request`.
    """

    def __init__(self, max_body: int = 1 << 20) -> None:
        self._pools: dict[tuple[str, int], urllib3.HTTPConnectionPool] = {}
        self._max_body = max_body

    def _pool(self, host: str, port: int) -> urllib3.HTTPConnectionPool:
        pool = self._pools.get((host, port))
        if pool is None:
            if len(self._pools) >= 4:  # the address changed (re-discovery): drop the old connections
                self.close()
            pool = urllib3.HTTPConnectionPool(host, port, maxsize=1, retries=False, block=False)
            self._pools[(host, port)] = pool
        return pool

    def get(
        self, host: str, port: int, path: str, *, timeout_s: float, what: str, endpoint: HostResolver | None
    ) -> LanResponse:
        """``GET path``; non-2xx statuses raise like :func:`http_request`."""
        return self.request("GET", host, port, path, timeout_s=timeout_s, what=what, endpoint=endpoint)

    def request(
        self,
        method: str,
        host: str,
        port: int,
        path: str,
        *,
        timeout_s: float,
        what: str,
        endpoint: HostResolver | None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        check: bool = True,
    ) -> LanResponse:
        """One exchange; the reply body is bounded by ``max_body``; ``check=False`` returns any status."""
        timeout = urllib3.Timeout(connect=timeout_s, read=timeout_s)
        try:
            reply = self._pool(host, port).request(
                method,
                path,
                body=body,
                headers=headers,
                timeout=timeout,
                preload_content=False,
                redirect=False,
            )
            try:
                content = reply.read(self._max_body + 1)
            finally:
                reply.release_conn()
        except ConnectTimeoutError as err:
            _failed(endpoint)
            raise DeviceUnreachable(f"{what}: connect timeout") from err
        except ReadTimeoutError as err:
            _failed(endpoint)
            raise DeviceTimeout(f"{what}: no answer within {timeout_s} s") from err
        except (NewConnectionError, HTTPError, OSError) as err:
            _failed(endpoint)
            raise DeviceUnreachable(f"{what}: {err.__class__.__name__}") from err
        if len(content) > self._max_body:
            raise InvalidPayload(f"{what}: body larger than {self._max_body} bytes")
        if endpoint is not None:
            endpoint.succeeded()
        response = LanResponse(reply.status, content)
        if check:
            _check_status(response.status_code, response.text, what)
        return response

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _failed(endpoint: HostResolver | None) -> None:
    if endpoint is not None:
        endpoint.failed()


def _check_status(status: int, text: str, what: str) -> None:
    if 200 <= status < 300:
        return
    detail = text[:200]
    if status == 401:
        raise DeviceUnauthorized(f"{what}: HTTP 401 {detail}", status=status)
    if status == 403:
        raise ApiDisabled(f"{what}: HTTP 403 {detail}", status=status)
    raise DeviceResponseError(f"{what}: HTTP {status} {detail}", status=status)


def json_body(response: _HasText, what: str) -> Any:
    """The JSON body (whatever the Content-Type); :class:`InvalidPayload` when it is not JSON."""
    try:
        return json.loads(response.text)
    except ValueError as err:
        raise InvalidPayload(f"{what}: body is not JSON: {response.text[:120]!r}") from err
