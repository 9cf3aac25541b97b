"""A legacy Zendure device over MQTT behind the battery port the control loop uses (``poll`` / ``apply``).

paho-mqtt's network thread only merges reports into a :class:`DeviceState` (every callback guarded, so a bad
message never stops it); the control loop reads that state and publishes commands. Reconnects run in paho
with back-off; after a reconnect the client asks for ``getAll`` and re-sends the command still wanted
(what was published while the broker was down is lost).

- ``poll``: a :class:`BatteryReading` of the merged state; :class:`DeviceTimeout` once no report came for
  ``stale_s`` (the poller logs ``SourceStale`` and the core goes to standby). Asks for ``getAll`` every
  ``getall_interval_s``.
- ``apply``: power changes are paced to the model's interval (hubs take one change per ~30 s); a paced
  command is held and sent when the interval is over (the latest wins). Standby is never held back.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from controller.clock import Clock
from controller.devices.errors import DeviceError, DeviceTimeout, DeviceUnreachable
from controller.devices.zendure_mqtt_connection import BrokerAddress, new_client
from controller.devices.zendure_mqtt_protocol import (
    DeviceState,
    LegacyModel,
    Topics,
    command_message,
    decode_message,
    getall_message,
    parse_report_topic,
)
from controller.domain.commands import Command, CommandKind
from controller.domain.events import BatteryReading, CommandNotApplied, CommandResult, EventBase

__all__ = ["MqttOutcome", "ZendureMqttBattery"]

LOGGER = logging.getLogger(__name__)
_CHECKED_KEYS = ("acMode", "inputLimit", "outputLimit")


@dataclass(frozen=True)
class MqttOutcome:
    """What became of one command (``accepted``: published, or held for pacing and sent later)."""

    command: Command
    accepted: bool
    events: tuple[EventBase, ...] = ()
    sent: dict[str, Any] | None = None


@dataclass
class _Sent:
    command: Command
    body: dict[str, Any]
    at_mono: float
    reports_at: int
    not_applied_reported: bool = False


@dataclass
class _Link:
    connected: bool = False
    connects: int = 0
    last_error: str | None = None
    last_report_mono: float | None = None
    reports: int = 0
    resend: bool = False
    product_key_seen: str | None = None
    skipped: list[str] = field(default_factory=list)


class ZendureMqttBattery:
    """One legacy device (``product_key``/``device_key``) on ``broker``."""

    def __init__(
        self,
        broker: BrokerAddress,
        *,
        product_key: str,
        device_key: str,
        model: LegacyModel,
        clock: Clock,
        stale_s: float = 30.0,
        getall_interval_s: float = 60.0,
        command_interval_s: float | None = None,
        client_id: str | None = None,
        ack_timeout_s: float = 2.0,
        confirm_reports: int = 3,
        first_report_wait_s: float = 5.0,
    ) -> None:
        self.broker = broker
        self.topics = Topics(product_key, device_key)
        self.model = model
        self._clock = clock
        self.stale_s = stale_s
        self.getall_interval_s = getall_interval_s
        self.ack_timeout_s = ack_timeout_s
        self.confirm_reports = confirm_reports
        self.first_report_wait_s = first_report_wait_s
        self._first_report = threading.Event()
        self._waited_first = False
        self.command_interval_s = (
            model.command_interval_s if command_interval_s is None else command_interval_s
        )
        self.state = DeviceState(model)
        self._lock = threading.Lock()
        self._link = _Link()
        self._message_id = 0
        self._last_sent: _Sent | None = None
        self._held: Command | None = None
        self._wanted: Command | None = None
        self._force_held = False
        self._next_getall = float("-inf")
        self._client = new_client(broker, client_id or f"zsm-{device_key}-{uuid.uuid4().hex[:6]}")
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._started = False

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (paho retries with back-off until the broker answers)."""
        if self._started:
            return
        self._started = True
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        self._client.loop_start()

    def close(self) -> None:
        if self._started:
            self._client.disconnect()
            self._client.loop_stop()
            self._started = False

    @property
    def connected(self) -> bool:
        return self._link.connected

    @property
    def published(self) -> int:
        """Messages handed to the broker so far (reads and commands)."""
        return self._message_id

    @property
    def reports_received(self) -> int:
        """Device reports taken in so far (a report's age counts from when it arrived)."""
        return self._link.reports

    @property
    def connects(self) -> int:
        """How many times a connection was established (reconnects + 1)."""
        return self._link.connects

    # -- paho callbacks (network thread) ------------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: ReasonCode, _props: Properties | None
    ) -> None:
        try:
            if reason.is_failure:
                self._link.last_error = f"broker refused the connection: {reason}"
                LOGGER.warning("mqtt %s: %s", self.broker, self._link.last_error)
                return
            client.subscribe(self.topics.subscribe_reports, qos=0)
        except Exception:  # noqa: BLE001 - never let the network thread die
            LOGGER.exception("mqtt on_connect failed")

    def _on_subscribe(
        self, _c: mqtt.Client, _ud: Any, _mid: int, reasons: list[ReasonCode], _props: Properties | None
    ) -> None:
        """Connected for the port once the broker confirmed the subscription (no report can be missed)."""
        if any(r.is_failure for r in reasons):
            self._link.last_error = f"broker refused the subscription to {self.topics.subscribe_reports}"
            LOGGER.warning("mqtt %s: %s", self.broker, self._link.last_error)
            return
        with self._lock:
            self._link.connected = True
            self._link.connects += 1
            self._link.last_error = None
            self._link.resend = self._link.connects > 1 and self._wanted is not None
            self._next_getall = self._clock.monotonic() + self.getall_interval_s
            body = self._envelope(self.topics.read, getall_message())
        # ask for a full report at once (no wait for the acknowledgement here: this is the network thread)
        self._client.publish(self.topics.read, json.dumps(body, separators=(",", ":")), qos=1)
        LOGGER.info("mqtt %s connected (device %s)", self.broker, self.topics.device_key)

    def _on_disconnect(
        self, _c: mqtt.Client, _ud: Any, _flags: Any, reason: ReasonCode, _props: Properties | None
    ) -> None:
        with self._lock:
            if self._link.connected:
                LOGGER.warning("mqtt %s disconnected: %s (reconnecting)", self.broker, reason)
            self._link.connected = False
            self._link.last_error = f"disconnected: {reason}"

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self.handle_message(message.topic, bytes(message.payload))
        except Exception:  # noqa: BLE001 - never let the network thread die
            LOGGER.exception("mqtt message on %s could not be handled", message.topic)

    def handle_message(self, topic: str, payload: bytes) -> None:
        """Fold one device message in (reports only; other device topics are ignored)."""
        parts = parse_report_topic(topic)
        if parts is None or parts[1] != self.topics.device_key or parts[2] != "properties/report":
            return
        try:
            data = decode_message(payload)
        except DeviceError as err:
            LOGGER.warning("mqtt report from %s rejected: %s", self.topics.device_key, err)
            return
        with self._lock:
            problems = self.state.merge(data)
            self._link.last_report_mono = self._clock.monotonic()
            self._link.reports += 1
        self._first_report.set()
        with self._lock:
            if parts[0] != self.topics.product_key and parts[0] != self._link.product_key_seen:
                LOGGER.warning(
                    "device %s reports as product %s (configured %s); commands follow the report",
                    self.topics.device_key, parts[0], self.topics.product_key,
                )  # fmt: skip
                self._link.product_key_seen = parts[0]
                self.topics = Topics(parts[0], self.topics.device_key)
        for problem in problems:
            LOGGER.warning("mqtt report from %s: %s", self.topics.device_key, problem)

    # -- port: reads --------------------------------------------------------------------------------------
    def read(self) -> BatteryReading:
        """The merged state as a reading now; :class:`DeviceError` when there is nothing fresh."""
        self.start()
        if not self._first_report.is_set() and not self._waited_first:
            self._waited_first = True  # once, at start-up: the broker round trip of the first getAll
            self._first_report.wait(timeout=self.first_report_wait_s)
        now_mono = self._clock.monotonic()
        with self._lock:
            last = self._link.last_report_mono
            if last is None:
                where = "connected" if self._link.connected else (self._link.last_error or "connecting")
                raise DeviceUnreachable(
                    f"no report from {self.topics.device_key} yet ({self.broker}: {where})"
                )
            age = now_mono - last
            if age > self.stale_s:
                raise DeviceTimeout(f"no report from {self.topics.device_key} for {age:.0f} s")
            return self.state.to_reading(self._clock.now())

    def poll(self) -> list[EventBase]:
        """Ask for ``getAll`` when due, send a held or lost command, and read."""
        reading = self.read()  # stale: raise before sending anything (the core is going to standby)
        events: list[EventBase] = []
        mono = self._clock.monotonic()
        if self._link.connected and mono >= self._next_getall:
            self._next_getall = mono + self.getall_interval_s
            self._publish(self.topics.read, getall_message())
        if self._link.resend and self._link.connected and self._wanted is not None:
            self._link.resend = False
            self._held = None
            LOGGER.info("mqtt reconnected: re-sending %s", self._wanted)
            events += self._send(self._wanted, force=True).events
        else:
            events += self._check_applied()
            if self._held is not None and mono >= self._pace_until():
                held, self._held = self._held, None
                force, self._force_held = self._force_held, False
                events += self._send(held, force=force).events
        return [*events, reading]

    def _check_applied(self) -> list[EventBase]:
        """A property write the reports do not show after ``confirm_reports`` reports: log it and re-send.

        Covers a write the device acknowledged but ignored, and one it later reverted (the re-send waits for
        the pacing interval, so the flash-write budget holds). ``deviceAutomation`` has no property to check.
        """
        sent = self._last_sent
        if sent is None or "properties" not in sent.body or self._wanted != sent.command:
            return []
        with self._lock:
            if self.state.reports < sent.reports_at + self.confirm_reports:
                return []
            have = {k: self.state.properties.get(k) for k in _CHECKED_KEYS if k in sent.body["properties"]}
        wanted = {k: sent.body["properties"][k] for k in have}
        if have == wanted or sent.not_applied_reported:
            sent.not_applied_reported = have != wanted
            return []
        sent.not_applied_reported = True
        detail = ", ".join(f"{k}={have[k]!r} (wrote {wanted[k]!r})" for k in wanted if have[k] != wanted[k])
        LOGGER.warning(
            "mqtt %s did not apply %s: %s; re-sending", self.topics.device_key, sent.command, detail
        )
        self._held = sent.command
        self._force_held = True
        return [CommandNotApplied(at=self._clock.now(), command=sent.command, detail=detail)]

    # -- port: writes -------------------------------------------------------------------------------------
    def _pace_until(self) -> float:
        sent = self._last_sent
        return float("-inf") if sent is None else sent.at_mono + self.command_interval_s

    def apply(self, command: Command) -> MqttOutcome:
        """Publish ``command`` now, or hold it until the pacing interval is over (standby is never held)."""
        self.start()
        self._wanted = command
        if command.kind is not CommandKind.STANDBY and self._clock.monotonic() < self._pace_until():
            self._held = command
            self._force_held = False
            LOGGER.debug("mqtt %s: holding %s for pacing", self.topics.device_key, command)
            return MqttOutcome(command, True)
        self._held = None
        return self._send(command)

    def _send(self, command: Command, *, force: bool = False) -> MqttOutcome:
        start = self._clock.monotonic()
        with self._lock:
            max_charge, max_discharge = self.state.max_charge_w, self.state.max_discharge_w
        kind, body, _watts = command_message(
            command, self.model, max_charge_w=max_charge, max_discharge_w=max_discharge
        )
        last = self._last_sent
        if not force and last is not None and last.body == body:
            return MqttOutcome(command, True)  # the device already has it: no needless (flash) write
        topic = self.topics.invoke if kind == "invoke" else self.topics.write
        error = self._publish(topic, body)
        latency = (self._clock.monotonic() - start) * 1000
        if error is not None:
            LOGGER.warning("mqtt command %s not sent: %s", command, error)
            result = CommandResult(
                at=self._clock.now(), command=command, ok=False, latency_ms=latency, error=error
            )
            return MqttOutcome(command, False, (result,))
        self._last_sent = _Sent(command, body, self._clock.monotonic(), self.state.reports)
        result = CommandResult(at=self._clock.now(), command=command, ok=True, latency_ms=latency)
        return MqttOutcome(command, True, (result,), body)

    def _envelope(self, topic: str, body: dict[str, Any]) -> dict[str, Any]:
        """``body`` with Zendure-HA's ``messageId``, ``deviceKey``/``deviceId`` and ``timestamp``."""
        self._message_id += 1
        key = "deviceKey" if topic.endswith("/function/invoke") else "deviceId"
        return {
            "messageId": self._message_id,
            key: self.topics.device_key,
            "timestamp": int(self._clock.now().timestamp()),
            **body,
        }

    def _publish(self, topic: str, body: dict[str, Any]) -> str | None:
        """Publish with Zendure-HA's envelope; the error text, or ``None`` once handed to the broker."""
        if not self._link.connected:
            return (
                f"DeviceUnreachable: not connected to {self.broker} ({self._link.last_error or 'connecting'})"
            )
        envelope = self._envelope(topic, body)
        info = self._client.publish(topic, json.dumps(envelope, separators=(",", ":")), qos=1)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return f"DeviceUnreachable: publish failed: {mqtt.error_string(info.rc)}"
        try:  # QoS 1: the broker has it (a standby at shutdown must not die in a send buffer)
            info.wait_for_publish(timeout=self.ack_timeout_s)
        except (RuntimeError, ValueError) as err:
            return f"DeviceUnreachable: publish failed: {err}"
        if not info.is_published():
            return f"DeviceTimeout: the broker did not acknowledge within {self.ack_timeout_s:g} s"
        return None
