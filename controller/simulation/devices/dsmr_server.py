"""A simulated DSMR P1 stream over TCP (a ser2net-style gateway) on loopback.

Writes each telegram the meter produces to every connected client; never reads from them. Stream modes and
faults per ../shared/protocols/p1-meters.md §5.3: clients joining mid-stream first get a partial telegram;
arbitrary write-chunk boundaries; a backlog of old telegrams for new clients; CRC corruption, truncation,
dropped telegrams and disconnects. ``pump()`` sends what is due at the clock's now (tests call it after
advancing a virtual clock); ``start(realtime=True)`` pumps from a background thread.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime

from controller.clock import Clock
from controller.simulation.devices.dsmr_crypto import encrypt_telegram
from controller.simulation.devices.ports import MeterPort
from controller.simulation.devices.telegrams import Profile, TelegramRenderer

__all__ = ["DsmrFaults", "DsmrServer"]

LOGGER = logging.getLogger(__name__)


@dataclass
class DsmrFaults:
    """Switchable stream faults (every N-th telegram; 0 = off)."""

    corrupt_crc_every: int = 0
    truncate_every: int = 0
    drop_every: int = 0
    disconnect_after: int = 0
    """Close every client connection after this many telegrams (0 = never)."""
    join_mid_stream: bool = True
    """A new client first receives the second half of the previous telegram."""
    backlog: int = 0
    """A new client first receives this many old telegrams (a stale socket buffer, dsmr-reader#1112)."""
    chunk_size: int = 0
    """Split every write into chunks of this many bytes (0 = one write per telegram)."""


class DsmrServer:
    """DSMR telegrams over TCP from ``meter``, rendered in ``profile`` (nl5, nl4, nl22, be5)."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        profile: Profile = "nl5",
        clock_offset_s: float = 0.0,
        factory_date: bool = False,
        faults: DsmrFaults | None = None,
        history: int = 64,
        encryption_key: str | None = None,
        authentication_key: str = "00112233445566778899AABBCCDDEEFF",
    ) -> None:
        self.meter = meter
        self.clock = clock
        self.host = host
        self._port = port
        self.renderer = TelegramRenderer(profile, clock_offset_s=clock_offset_s, factory_date=factory_date)
        self.faults = faults or DsmrFaults()
        self.encryption_key = encryption_key
        """When set (32 hex digits), every telegram goes out as an encrypted DLMS frame (LU/AT meters)."""
        self.authentication_key = authentication_key
        self.emitted: deque[str] = deque(maxlen=history)
        """Every telegram rendered (before fault injection), newest last."""
        self.sent_count = 0
        self._last_at: datetime | None = None
        self._clients: list[tuple[socket.socket, int]] = []
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        if self._sock is None:
            raise RuntimeError("DSMR server not started")
        return int(self._sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    @property
    def client_count(self) -> int:
        with self._lock:
            return len(self._clients)

    def start(self, *, realtime: bool = False, pump_interval_s: float = 0.2) -> None:
        self._stop.clear()
        self._sock = socket.create_server((self.host, self._port), reuse_port=False)
        self._sock.settimeout(0.05)
        accept = threading.Thread(target=self._accept_loop, name="sim-dsmr-accept", daemon=True)
        accept.start()
        self._threads = [accept]
        if realtime:
            pump = threading.Thread(
                target=self._pump_loop, args=(pump_interval_s,), name="sim-dsmr", daemon=True
            )
            pump.start()
            self._threads.append(pump)
        LOGGER.info("simulated DSMR stream on %s (%s)", self.url, self.renderer.profile)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._lock:
            for client, _ in self._clients:
                client.close()
            self._clients.clear()
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _pump_loop(self, interval: float) -> None:
        while not self._stop.is_set():
            self.pump()
            self._stop.wait(interval)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                client, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            client.settimeout(2.0)
            first = self._welcome()
            try:
                if first:
                    client.sendall(first)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._clients.append((client, 0))

    def _welcome(self) -> bytes:
        old = list(self.emitted)
        data = b""
        if self.faults.backlog and old:
            data += "".join(old[-self.faults.backlog :]).encode("ascii")
        elif self.faults.join_mid_stream and old:
            last = old[-1].encode("ascii")
            data += last[len(last) // 2 :]
        return data

    def _faulted(self, index: int, text: str) -> bytes | None:
        f = self.faults
        data = text.encode("ascii")
        if f.drop_every and index % f.drop_every == 0:
            return None
        if (
            f.corrupt_crc_every
            and index % f.corrupt_crc_every == 0
            and text.rstrip().endswith(tuple("0123456789ABCDEF"))
        ):
            body, crc = data.rstrip(b"\r\n").rsplit(b"!", 1)
            bad = f"{(int(crc, 16) ^ 0x5A5A):04X}".encode()
            return body + b"!" + bad + b"\r\n"
        if f.truncate_every and index % f.truncate_every == 0:
            return data[: len(data) * 2 // 3]
        return data

    def _send(self, data: bytes) -> None:
        size = self.faults.chunk_size
        chunks = [data[i : i + size] for i in range(0, len(data), size)] if size > 0 else [data]
        with self._lock:
            alive: list[tuple[socket.socket, int]] = []
            for client, count in self._clients:
                try:
                    for chunk in chunks:
                        client.sendall(chunk)
                except OSError:
                    client.close()
                    continue
                count += 1
                if self.faults.disconnect_after and count >= self.faults.disconnect_after:
                    LOGGER.info("simulated DSMR: disconnecting a client after %d telegrams", count)
                    client.close()
                    continue
                alive.append((client, count))
            self._clients = alive

    def pump(self) -> int:
        """Render and send every telegram due since the last pump; returns how many were rendered."""
        now = self.clock.now()
        samples = self.meter.samples_since(now, self._last_at)
        for sample in samples:
            self._last_at = sample.at
            text = self.renderer.render(sample)
            self.emitted.append(text)
            self.sent_count += 1
            data = self._faulted(self.sent_count, text)
            if data is not None and self.encryption_key:
                data = encrypt_telegram(
                    data.decode("ascii"),
                    self.encryption_key,
                    self.authentication_key,
                    system_title=b"SIMZSM01",
                    invocation_counter=self.sent_count,
                )
            if data is not None:
                self._send(data)
        return len(samples)
