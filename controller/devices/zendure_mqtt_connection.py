"""One paho-mqtt 2.x client (VERSION2 callbacks) for a broker: address, credentials, TLS, reconnect back-off.

Shared by the legacy battery adapter, ``zsm discover-mqtt`` and the simulated legacy devices.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

__all__ = ["BrokerAddress", "new_client", "parse_broker"]


@dataclass(frozen=True)
class BrokerAddress:
    """Where the broker listens and how to log in."""

    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    keepalive_s: int = 30

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker(text: str) -> BrokerAddress:
    """``HOST:PORT`` (or ``HOST``, port 1883) → :class:`BrokerAddress`; ``ValueError`` when malformed."""
    host, sep, port = text.strip().rpartition(":")
    if not sep:
        host, port = text.strip(), "1883"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"broker must be HOST:PORT, got {text!r}")
    return BrokerAddress(host=host.strip("[]"), port=int(port))


def new_client(broker: BrokerAddress, client_id: str) -> mqtt.Client:
    """A configured, not yet connected client that reconnects on its own (1 s doubling to 30 s)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(ca_certs=str(broker.ca_file) if broker.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    return client
