"""Find Zendure devices reporting on an MQTT broker: listen to ``/+/+/properties/report`` for a while."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from controller.devices.errors import DeviceError, DeviceUnreachable
from controller.devices.zendure_mqtt_connection import BrokerAddress, new_client
from controller.devices.zendure_mqtt_protocol import decode_message, model_for_product_key, parse_report_topic

__all__ = ["SeenDevice", "discover_mqtt_devices"]

LOGGER = logging.getLogger(__name__)
MAX_DEVICES = 64
REPORTS = "/+/+/properties/report"


@dataclass
class SeenDevice:
    """A device key seen reporting, with what its reports tell."""

    product_key: str
    device_key: str
    model: str | None
    product: str | None
    soc_pct: int | None = None
    reports: int = 0


def discover_mqtt_devices(
    broker: BrokerAddress, seconds: float = 15.0, *, enough: int | None = None
) -> list[SeenDevice]:
    """Devices that reported within ``seconds`` (wall time; sooner once ``enough`` were seen).

    :class:`DeviceUnreachable` when the broker cannot be reached or refuses the login.
    """
    seen: dict[str, SeenDevice] = {}
    lock = threading.Lock()
    connected = threading.Event()
    refused: list[str] = []
    done = threading.Event()

    def on_connect(client: mqtt.Client, _u: Any, _f: Any, reason: ReasonCode, _p: Properties | None) -> None:
        if reason.is_failure:
            refused.append(str(reason))
        else:
            client.subscribe(REPORTS, qos=0)
        connected.set()

    def on_message(_c: mqtt.Client, _u: Any, message: mqtt.MQTTMessage) -> None:
        parts = parse_report_topic(message.topic)
        if parts is None:
            return
        try:
            data = decode_message(bytes(message.payload))
        except DeviceError as err:
            LOGGER.info("report on %s skipped: %s", message.topic, err)
            return
        pk, dk, _ = parts
        props = data.get("properties")
        level = props.get("electricLevel") if isinstance(props, dict) else None
        with lock:
            if dk not in seen and len(seen) >= MAX_DEVICES:
                return
            model = model_for_product_key(pk)
            product = data.get("product")
            entry = seen.setdefault(
                dk,
                SeenDevice(
                    pk, dk, model.name if model else None, product if isinstance(product, str) else None
                ),
            )
            entry.reports += 1
            if isinstance(level, int):
                entry.soc_pct = level
            if enough is not None and len(seen) >= enough:
                done.set()

    client = new_client(broker, f"zsm-discover-{uuid.uuid4().hex[:8]}")
    client.on_connect = on_connect
    client.on_message = on_message
    try:
        client.connect(broker.host, broker.port, keepalive=broker.keepalive_s)
    except OSError as err:
        raise DeviceUnreachable(f"no MQTT broker at {broker}: {err}") from err
    client.loop_start()
    try:
        if not connected.wait(timeout=min(10.0, seconds + 5)) or refused:
            raise DeviceUnreachable(f"broker {broker} refused: {refused[0] if refused else 'no answer'}")
        done.wait(timeout=seconds)
    finally:
        client.disconnect()
        client.loop_stop()
    with lock:
        return sorted(seen.values(), key=lambda d: d.device_key)
