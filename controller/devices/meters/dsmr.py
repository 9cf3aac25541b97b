"""DSMR P1 telegrams over TCP (ser2net-style gateways) or a serial port, parsed by ``dsmr_parser``.

The stream is drained on every :meth:`DsmrMeter.read` and only the newest complete telegram is used, so a
backlog of buffered telegrams never turns into lag (dsmr-reader#1112). Framing resyncs on ``/``: leading
partial data is dropped. Telegrams with a bad CRC are skipped (logged); when no valid telegram is left the
read fails with :class:`InvalidPayload`. Encrypted P1 ports (Luxembourg Smarty, Austrian Sagemcom T210-D)
send DLMS general-global-cipher frames: with the user's key they are framed and decrypted by ``dsmr_parser``.
"""

from __future__ import annotations

import logging
import os
import select
import socket
import termios
from typing import Any, Protocol

from dsmr_parser import telegram_specifications
from dsmr_parser.clients.telegram_buffer import EncryptedTelegramBuffer, TelegramBuffer
from dsmr_parser.exceptions import DecryptionError, InvalidChecksumError, ParseError
from dsmr_parser.parsers import TelegramParser

from controller.clock import Clock
from controller.devices.errors import DeviceUnreachable, InvalidPayload
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.meters.base import NewDataFilter
from controller.devices.meters.dsmr_reading import telegram_to_reading
from controller.domain.events import MeterReading

__all__ = [
    "ByteSource",
    "DsmrMeter",
    "SerialSource",
    "TcpSource",
    "specification_for",
    "telegram_to_reading",
]

LOGGER = logging.getLogger(__name__)

_SPECS: dict[str, Any] = {
    "2.2": telegram_specifications.V2_2,
    "3": telegram_specifications.V3,
    "4": telegram_specifications.V4,
    "5": telegram_specifications.V5,
    "5B": telegram_specifications.BELGIUM_FLUVIUS,
    "5L": telegram_specifications.LUXEMBOURG_SMARTY,
    "5S": telegram_specifications.SWEDEN,
    "Q3D": telegram_specifications.Q3D,
    "T210D": telegram_specifications.V5,
    "HU": telegram_specifications.EON_HUNGARY,
}
_ENCRYPTED_SPECS: dict[str, Any] = {
    "5L": telegram_specifications.MSN,  # Luxembourg Smarty: fixed public authentication key in the spec
    "T210D": telegram_specifications.SAGEMCOM_T210_D_R,  # Austria (Sagemcom T210-D, Energienetze Steiermark)
}
_MAX_BUFFER = 256 * 1024


def specification_for(dsmr_version: str, *, encrypted: bool = False) -> Any:
    """The ``dsmr_parser`` specification for a telegram flavour (``"2.2"`` … ``"5"``, ``"5B"`` Belgium,
    ``"5L"`` Luxembourg, ``"5S"`` Sweden, ``"Q3D"`` EasyMeter, ``"T210D"`` Sagemcom/Austria, ``"HU"``
    Hungary); ``encrypted`` picks the DLMS general-global-cipher variant (``"5L"`` and ``"T210D"``)."""
    table = _ENCRYPTED_SPECS if encrypted else _SPECS
    try:
        return table[dsmr_version]
    except KeyError as err:
        what = "encrypted DSMR flavour" if encrypted else "DSMR version"
        raise ValueError(f"unknown {what} {dsmr_version!r}; use one of {sorted(table)}") from err


def _checked_keys(
    encryption_key: str | None, authentication_key: str | None
) -> tuple[str, str | None] | None:
    """``(key, auth_key)`` for ``dsmr_parser`` (both 32 hex digits), ``None`` for plain telegrams."""
    if not encryption_key:
        return None
    for name, value in (("encryption key", encryption_key), ("authentication key", authentication_key)):
        if value is not None and (len(value) != 32 or any(c not in "0123456789abcdefABCDEF" for c in value)):
            raise ValueError(f"DSMR {name} must be 32 hex digits")
    return encryption_key, authentication_key


class ByteSource(Protocol):
    """A byte stream: :meth:`read` returns what arrived within ``wait_s`` (``b""`` for nothing)."""

    def read(self, wait_s: float) -> bytes: ...

    def close(self) -> None: ...


class TcpSource:
    """A TCP client to a ser2net-style gateway; reconnects on the next read after a failure."""

    def __init__(
        self, endpoint: HostResolver | str, *, port: int = 2001, connect_timeout_s: float = 2.0
    ) -> None:
        self._endpoint = as_resolver(endpoint, port)
        self._timeout = connect_timeout_s
        self._sock: socket.socket | None = None

    def _connect(self) -> socket.socket:
        host, port = self._endpoint.address()
        try:
            sock = socket.create_connection((host, port), timeout=self._timeout)
        except OSError as err:
            self._endpoint.failed()
            raise DeviceUnreachable(f"DSMR gateway {host}:{port}: {err}") from err
        sock.setblocking(False)
        self._endpoint.succeeded()
        LOGGER.info("connected to DSMR gateway %s:%d", host, port)
        return sock

    def read(self, wait_s: float) -> bytes:
        if self._sock is None:
            self._sock = self._connect()
        sock = self._sock
        chunks: list[bytes] = []
        timeout = wait_s
        try:
            while True:
                ready, _, _ = select.select([sock], [], [], timeout)
                if not ready:
                    break
                data = sock.recv(65536)
                if not data:
                    self.close()
                    if chunks:
                        break
                    self._endpoint.failed()
                    raise DeviceUnreachable("DSMR gateway closed the connection")
                chunks.append(data)
                timeout = 0.0
        except OSError as err:
            self.close()
            self._endpoint.failed()
            raise DeviceUnreachable(f"DSMR gateway: {err}") from err
        return b"".join(chunks)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


class SerialSource:
    """A P1 serial port (``/dev/ttyUSB0``), read non-blocking, line settings per DSMR version (termios)."""

    def __init__(self, device: str, *, dsmr_version: str = "5") -> None:
        self.device = device
        self.dsmr_version = dsmr_version
        self._fd: int | None = None

    def _open(self) -> int:
        try:
            fd = os.open(self.device, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as err:
            raise DeviceUnreachable(f"serial port {self.device}: {err}") from err
        try:
            attrs = termios.tcgetattr(fd)
            baud = termios.B9600 if self.dsmr_version == "2.2" else termios.B115200
            seven_e1 = self.dsmr_version in ("2.2", "3", "4")
            attrs[0] = termios.IGNBRK  # iflag
            attrs[1] = 0  # oflag
            cflag = (
                termios.CREAD | termios.CLOCAL | (termios.CS7 | termios.PARENB if seven_e1 else termios.CS8)
            )
            attrs[2] = cflag
            attrs[3] = 0  # lflag: raw
            attrs[4] = baud
            attrs[5] = baud
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except termios.error as err:
            LOGGER.debug("serial port %s: cannot set line settings (%s); reading as is", self.device, err)
        return fd

    def read(self, wait_s: float) -> bytes:
        if self._fd is None:
            self._fd = self._open()
        chunks: list[bytes] = []
        timeout = wait_s
        try:
            while True:
                ready, _, _ = select.select([self._fd], [], [], timeout)
                if not ready:
                    break
                data = os.read(self._fd, 65536)
                if not data:
                    break
                chunks.append(data)
                timeout = 0.0
        except OSError as err:
            self.close()
            raise DeviceUnreachable(f"serial port {self.device}: {err}") from err
        return b"".join(chunks)

    def close(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)
            finally:
                self._fd = None


class DsmrMeter:
    """A DSMR meter behind ``source``. ``read()`` drains the stream and parses the newest telegram."""

    def __init__(
        self,
        source: ByteSource,
        *,
        clock: Clock,
        dsmr_version: str = "5",
        wait_s: float = 2.0,
        check_crc: bool = True,
        encryption_key: str | None = None,
        authentication_key: str | None = None,
    ) -> None:
        self.source = source
        self._clock = clock
        self._keys = _checked_keys(encryption_key, authentication_key)
        self._spec = specification_for(dsmr_version, encrypted=self._keys is not None)
        if self._keys is not None and self._keys[1] is None and "authentication_key" in self._spec:
            # Luxembourg: the spec carries the public authentication key ("" asks dsmr_parser for it); without
            # one (Austria, when the utility gives only the key) the GCM tag is not checked, the CRC is.
            self._keys = (self._keys[0], "")
        self._parser = TelegramParser(self._spec, apply_checksum_validation=check_crc)
        self._buffer: TelegramBuffer | EncryptedTelegramBuffer = self._new_buffer()
        self._wait_s = wait_s
        self._filter = NewDataFilter()
        self.skipped = 0
        """Complete telegrams dropped because a newer one was already there (backlog)."""
        self.invalid = 0
        """Telegrams that failed the CRC or could not be parsed."""

    def _new_buffer(self) -> TelegramBuffer | EncryptedTelegramBuffer:
        return EncryptedTelegramBuffer() if self._keys is not None else TelegramBuffer()

    def _complete(self, data: bytes) -> list[str]:
        if isinstance(self._buffer, EncryptedTelegramBuffer):
            self._buffer.append(data)
        else:
            self._buffer.append(data.decode("ascii", errors="replace"))
        telegrams = list(self._buffer.get_all())
        if len(self._buffer._buffer) > _MAX_BUFFER:  # noqa: SLF001 - garbage without a telegram end
            self._buffer = self._new_buffer()
        return telegrams

    def _parse(self, text: str) -> Any:
        """``dsmr_parser``'s telegram; every parser failure (CRC, syntax, a bad field value) is
        :class:`InvalidPayload`."""
        try:
            if self._keys is None:
                return self._parser.parse(text)
            return self._parser.parse(text, *self._keys)
        except DecryptionError as err:
            raise InvalidPayload(f"DSMR telegram: cannot decrypt (check meter.dsmr_key): {err}") from err
        except (InvalidChecksumError, ParseError, ValueError, ArithmeticError) as err:
            raise InvalidPayload(f"DSMR telegram: {err}") from err

    def read(self) -> MeterReading | None:
        """The newest complete telegram as a reading; ``None`` when nothing new arrived within ``wait_s``."""
        telegrams = self._complete(self.source.read(0.0))
        if not telegrams:
            telegrams = self._complete(self.source.read(self._wait_s))
        if not telegrams:
            return None
        errors: list[str] = []
        for index, text in enumerate(reversed(telegrams)):
            try:
                reading = telegram_to_reading(self._parse(text), self._clock.now())
            except InvalidPayload as err:
                self.invalid += 1
                LOGGER.info("skipping DSMR telegram: %s", err)
                errors.append(str(err))
                continue
            self.skipped += len(telegrams) - 1 - index
            return reading if self._filter.is_new(reading) else None
        raise InvalidPayload(f"no valid DSMR telegram among {len(telegrams)}: {errors[-1]}")

    def close(self) -> None:
        self.source.close()
