"""Test peers for the Home Assistant bridge: a recording MQTT client and a private Mosquitto process."""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

SHARED_BROKER = ("127.0.0.1", 1883)
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def shared_broker() -> tuple[str, int]:
    """The machine's Mosquitto, or skip with the reason."""
    if not reachable(*SHARED_BROKER):
        pytest.skip("Mosquitto not reachable at 127.0.0.1:1883")
    return SHARED_BROKER


def unique(prefix: str) -> str:
    """A topic segment no other test (or worker) uses."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


class Probe:
    """A plain MQTT client that records what it receives (Home Assistant's side in the tests)."""

    def __init__(self, host: str, port: int, topics: list[str]) -> None:
        self.messages: list[mqtt.MQTTMessage] = []
        self._cond = threading.Condition()
        self._topics = topics
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=unique("probe-"))
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect(host, port, keepalive=30)
        self.client.loop_start()

    def _on_connect(self, client: mqtt.Client, *_args: object) -> None:
        client.subscribe([(topic, 1) for topic in self._topics])

    def _on_message(self, _client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(message)
            self._cond.notify_all()

    def wait_for(
        self,
        topic: str,
        accept: Callable[[bytes], bool] = lambda _p: True,
        timeout_s: float = 10.0,
        after: int = 0,
    ) -> mqtt.MQTTMessage:
        """The first message on ``topic`` (from index ``after`` on) whose payload ``accept``s."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for message in self.messages[after:]:
                    if message.topic == topic and accept(message.payload):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:80]) for m in self.messages]
                    raise AssertionError(f"nothing accepted on {topic} within {timeout_s} s; saw {seen}")
                self._cond.wait(left)

    def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PrivateBroker:
    """A Mosquitto of our own on a loopback port, so a test may stop and restart it."""

    def __init__(self, tmp: Path) -> None:
        if not Path(MOSQUITTO).exists():
            pytest.skip("mosquitto binary not installed")
        self.port = free_port()
        self.config = tmp / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not reachable("127.0.0.1", self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise AssertionError("private mosquitto did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None
