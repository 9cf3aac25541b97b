"""The seams where transport failures become device errors: :func:`http_request` (``requests``, for the
meter adapters polled less often) and :class:`LanClient` (the control tick's own small HTTP client)."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from controller.devices.errors import (
    ApiDisabled,
    DeviceResponseError,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
)
from controller.devices.hosts import HostResolver

if TYPE_CHECKING:
    import requests

__all__ = ["LanClient", "LanResponse", "http_request", "json_body", "lan_session"]


class _HasText(Protocol):
    @property
    def text(self) -> str: ...


def lan_session() -> requests.Session:
    """A session for devices on the LAN: no proxy from the environment (and no per-request env scan)."""
    import requests  # loaded by the adapters that use it, not by the control tick's own client (10 MB)

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
    import requests

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
    """Status, body and header lines of one :class:`LanClient` request; ``truncated`` when the body was
    longer than allowed and only its first ``max_body + 1`` bytes were read (see ``truncate``)."""

    status_code: int
    content: bytes
    header_lines: Sequence[bytes] = ()
    truncated: bool = False

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers, names in lower case (decoded when asked for: the meter's tick never needs them)."""
        found: dict[str, str] = {}
        for line in self.header_lines:
            name, _, value = line.partition(b":")
            found[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
        return found

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")


class LanClient:
    """HTTP/1.1 requests to LAN devices (and, with ``tls``, to the zsm server), one kept-alive connection
    per peer.

    The control tick's meter read and the battery's reads and writes go through here. A small client on a
    plain socket: ``requests`` adds about 1 ms of CPU per request and ``urllib3`` with ``http.client``
    (headers parsed by the ``email`` package) still 0.3–0.5 ms, which a Raspberry Pi 2 turns into 5–10 ms;
    this one costs about 0.1 ms. A connection is reused while the device keeps it open (HTTP/1.1 without
    ``Connection: close``) and checked for a close by the device before each reuse; a GET that meets a
    connection the device closed just as it went out is sent once more on a new one, a write never. Bodies
    come with ``Content-Length``, chunked, or up to the close. Errors map like :func:`http_request`.

    With ``tls`` (an :class:`ssl.SSLContext`) every connection is wrapped in TLS and the peer's certificate
    is checked as that context says (against the host name given to :meth:`request`).
    """

    def __init__(self, max_body: int = 1 << 20, *, tls: ssl.SSLContext | None = None) -> None:
        self._connections: dict[tuple[str, int], _Connection] = {}
        self._max_body = max_body
        self._tls = tls
        self._plain_gets: dict[tuple[str, int, str], bytes] = {}  # the bytes of a bare GET, made once

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
        idempotent: bool | None = None,
        max_body: int | None = None,
        truncate: bool = False,
    ) -> LanResponse:
        """One exchange; the reply body is bounded by ``max_body`` (the client's unless given): longer is
        :class:`InvalidPayload`, or with ``truncate`` a reply with ``truncated`` set. ``check=False``
        returns any status. ``idempotent`` (default: only a GET is) lets a request that met a kept
        connection the peer had just closed go once more on a new connection."""
        key = (host, port)
        kept = self._connections.pop(key, None)
        if kept is None and len(self._connections) >= 4:  # the address changed: drop the old connections
            self.close()
        if method == "GET" and body is None and headers is None:
            request = self._plain_gets.get((host, port, path), b"")
            if not request:
                if len(self._plain_gets) >= 64:
                    self._plain_gets.clear()
                request = _request_bytes(method, host, port, path, None, None, 443 if self._tls else 80)
                self._plain_gets[(host, port, path)] = request
        else:
            request = _request_bytes(method, host, port, path, body, headers, 443 if self._tls else 80)
        limit = self._max_body if max_body is None else max_body
        again = method == "GET" if idempotent is None else idempotent
        try:
            response, connection = self._exchange(kept, key, again, request, timeout_s, limit, truncate)
        except _Connect as err:
            _failed(endpoint)
            cause = err.__cause__
            if isinstance(cause, TimeoutError):
                raise DeviceUnreachable(f"{what}: connect timeout") from cause
            if isinstance(cause, ssl.SSLError | ssl.CertificateError):
                raise DeviceUnreachable(f"{what}: TLS: {cause}") from cause
            raise DeviceUnreachable(f"{what}: {cause.__class__.__name__}") from cause
        except TimeoutError as err:
            _failed(endpoint)
            raise DeviceTimeout(f"{what}: no answer within {timeout_s} s") from err
        except _BodyTooLarge as err:
            raise InvalidPayload(f"{what}: body larger than {limit} bytes") from err
        except (OSError, ValueError) as err:  # reset, refused, closed early, malformed reply
            _failed(endpoint)
            raise DeviceUnreachable(f"{what}: {err.__class__.__name__}") from err
        if connection is not None:
            self._connections[key] = connection
        if endpoint is not None:
            endpoint.succeeded()
        if check:
            _check_status(response.status_code, response.text, what)
        return response

    def _exchange(
        self,
        kept: _Connection | None,
        key: tuple[str, int],
        again: bool,
        request: bytes,
        timeout_s: float,
        max_body: int,
        truncate: bool,
    ) -> tuple[LanResponse, _Connection | None]:
        """The reply, and the connection when it stays open. A failed connection is closed."""
        if kept is not None and kept.reusable():
            try:
                return kept.exchange(request, timeout_s, max_body, truncate)
            except (ConnectionError, ssl.SSLEOFError, ssl.SSLZeroReturnError):
                # the peer closed the idle connection as the request went out: a GET (or a request the
                # caller says is idempotent) goes once more, on a new connection; a write that may have
                # arrived is never repeated here
                if not again or kept.replied:
                    raise
        elif kept is not None:
            kept.close()
        connection = _Connection.open(*key, timeout_s, self._tls)
        return connection.exchange(request, timeout_s, max_body, truncate)

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()


class _Connect(Exception):
    """The TCP connection could not be made (the cause is the socket error)."""


class _BodyTooLarge(Exception):
    """The reply body is larger than allowed; ``partial`` holds its first bytes (past the limit)."""

    def __init__(self, partial: bytes = b"") -> None:
        super().__init__()
        self.partial = partial


def _request_bytes(
    method: str,
    host: str,
    port: int,
    path: str,
    body: bytes | None,
    headers: dict[str, str] | None,
    default_port: int = 80,
) -> bytes:
    name = f"[{host}]" if ":" in host else host
    authority = name if port == default_port else f"{name}:{port}"
    lines = [f"{method} {path} HTTP/1.1", f"Host: {authority}", "Accept: */*", "Accept-Encoding: identity"]
    lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
    if body is not None or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


class _Connection:
    """One TCP connection to a device and the bytes received beyond the last reply."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buffer = b""
        self.replied = False
        """Whether any byte of the current exchange's reply has arrived."""

    @classmethod
    def open(cls, host: str, port: int, timeout_s: float, tls: ssl.SSLContext | None = None) -> _Connection:
        try:
            sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as err:
            raise _Connect from err
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname=host)  # the handshake checks the certificate
            except (OSError, ValueError) as err:
                sock.close()
                raise _Connect from err
        return cls(sock)

    def close(self) -> None:
        self.sock.close()

    def reusable(self) -> bool:
        """Still open and quiet: an idle connection that is readable was closed (or spoken on) by the
        device, and a request on it would fail or read a stale reply."""
        if self._buffer:
            return False
        try:
            self.sock.settimeout(0.0)  # non-blocking: Python would otherwise wait for data first
            if isinstance(self.sock, ssl.SSLSocket):  # no peeking through TLS; session tickets are no data
                self.sock.recv(1)
            else:
                self.sock.recv(1, socket.MSG_PEEK)
        except (BlockingIOError, ssl.SSLWantReadError):
            return True  # nothing to read: still open
        except OSError:
            return False
        return False  # end of stream or unexpected bytes

    def _recv(self) -> bytes:
        data = self.sock.recv(_RECV)
        if not data:
            raise ConnectionResetError("the device closed the connection")
        self.replied = True
        return data

    def _head(self) -> bytes:
        """The status line and headers, up to the empty line (not included)."""
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > _MAX_HEADER:
                raise ValueError("headers too long")
            self._buffer += self._recv()
        if end > _MAX_HEADER:
            raise ValueError("headers too long")
        head, self._buffer = self._buffer[:end], self._buffer[end + 4 :]
        return head

    def _line(self, limit: int) -> bytes:
        while (end := self._buffer.find(b"\r\n")) < 0:
            if len(self._buffer) > limit:
                raise ValueError("header line too long")
            self._buffer += self._recv()
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        return line

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            self._buffer += self._recv()
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def exchange(
        self, request: bytes, timeout_s: float, max_body: int, truncate: bool = False
    ) -> tuple[LanResponse, _Connection | None]:
        """Send ``request`` and read the reply; returns it and this connection if it stays open (closed
        when the reply says so, and on any failure)."""
        try:
            response, keep = self._exchange(request, timeout_s, max_body, truncate)
        except BaseException:
            self.close()
            raise
        if keep:
            return response, self
        self.close()
        return response, None

    def _exchange(
        self, request: bytes, timeout_s: float, max_body: int, truncate: bool
    ) -> tuple[LanResponse, bool]:
        """Send ``request`` and read the reply; returns it and whether the connection can be kept."""
        self.replied = False
        self.sock.settimeout(timeout_s)
        self.sock.sendall(request)
        status_line, *headers = self._head().split(b"\r\n")
        version, _, rest = status_line.partition(b" ")
        if not version.startswith(b"HTTP/1."):
            raise ValueError(f"not an HTTP reply: {status_line[:40]!r}")
        status = int(rest[:3])
        length: int | None = None
        chunked = False
        keep = version == b"HTTP/1.1"
        for line in headers:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
            elif name == b"connection":
                token = value.strip().lower()
                keep = token == b"keep-alive" or (keep and token != b"close")
        try:
            if status in (204, 304) or 100 <= status < 200:
                body = b""
            elif chunked:
                body = self._chunked(max_body)
            elif length is not None:
                if length > max_body:
                    raise _BodyTooLarge(self._exactly(max_body + 1) if truncate else b"")
                body = self._exactly(length)
            else:  # no length: the body ends with the connection
                body = self._until_close(max_body)
                keep = False
        except _BodyTooLarge as err:
            if not truncate:
                raise
            return LanResponse(status, err.partial[: max_body + 1], headers, truncated=True), False
        return LanResponse(status, body, headers), keep

    def _chunked(self, max_body: int) -> bytes:
        parts: list[bytes] = []
        total = 0
        while size := int(self._line(_MAX_HEADER).split(b";", 1)[0].strip(), 16):
            total += size
            if total > max_body:
                parts.append(self._exactly(min(size, max_body + 1)))
                raise _BodyTooLarge(b"".join(parts))
            parts.append(self._exactly(size))
            self._exactly(2)  # the CRLF after each chunk
        while self._line(_MAX_HEADER):  # trailers, up to the empty line
            pass
        return b"".join(parts)

    def _until_close(self, max_body: int) -> bytes:
        parts = [self._buffer]
        total = len(self._buffer)
        self._buffer = b""
        while data := self.sock.recv(_RECV):
            total += len(data)
            parts.append(data)
            if total > max_body:
                raise _BodyTooLarge(b"".join(parts))
        return b"".join(parts)


_RECV = 65536
_MAX_HEADER = 16 * 1024


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
