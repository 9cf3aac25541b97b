"""A simulated legacy Zendure device (Hyper 2000, Hub 1200/2000, AIO 2400, ACE 1500) on an MQTT broker.

It connects like the real one (client id = device key), subscribes to ``iot/{pk}/{dk}/#`` and publishes
partial reports (changed keys only) on ``/{pk}/{dk}/properties/report`` every ``report_interval_s``; a
``properties/read`` ``getAll`` gets a full dump with ``packData``; ``properties/write`` gets an
acknowledgement (``messageId`` echoed, ``success: 1``); ``function/invoke`` ``deviceAutomation`` sets the
power. Physics (dead time, ramp, SoC) is the plant's, behind :class:`BatteryPort`.

Quirks from the protocol notes: a Hub takes one power change per ``change_interval_s`` (~30 s; sooner ones
are ignored), Hub output below 100 W only in 30 W steps, ``outputLimit`` writes are ignored while
``autoModel`` is not 0, and the Hub/AIO cannot charge from AC.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from controller.clock import Clock
from controller.devices.zendure_mqtt_connection import BrokerAddress, new_client
from controller.devices.zendure_mqtt_protocol import MODELS, LegacyModel, Topics, decode_message
from controller.simulation.devices.ports import BatteryPort
from controller.simulation.plant import BatteryParams

__all__ = ["LegacyMqttDevice", "ReceivedMessage", "plant_params_for"]

LOGGER = logging.getLogger(__name__)

_PRODUCT = {"hyper2000": "solarFlowPro", "hub1200": "solarFlow", "hub2000": "solarFlow2000",
            "aio2400": "solarFlowAIO", "ace1500": "ace1500"}  # fmt: skip
_DEVICE_KEYS = {"hyper2000": "5hyp2kSm", "hub1200": "5ak8yGU7", "hub2000": "7hub2kSm",
                "aio2400": "9aio24Sm", "ace1500": "3ace15Sm"}  # fmt: skip


def plant_params_for(model: str, initial_soc_pct: float = 50.0) -> BatteryParams:
    """Plant knobs per model: the Hub is slow to follow (SFC: ~1 min to reach a new limit)."""
    m = MODELS[model]
    capacity = {
        "hyper2000": 1920.0,
        "hub1200": 960.0,
        "hub2000": 1920.0,
        "aio2400": 2400.0,
        "ace1500": 1500.0,
    }
    slow = m.control == "automation_hub"
    return BatteryParams(
        max_discharge_w=float(m.max_discharge_w),
        max_charge_w=float(m.max_charge_w),
        capacity_wh=capacity[model],
        initial_soc_pct=initial_soc_pct,
        dead_time_s=8.0 if slow else 3.0,
        ramp_w_per_s=40.0 if slow else 200.0,
        start_threshold_w=30.0 if slow else 50.0,
    )


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the device got (for tests asserting what a controller sent)."""

    at: datetime
    topic: str
    body: dict[str, Any]


class LegacyMqttDevice:
    """One simulated legacy device; :meth:`step` advances its firmware (reports, limits)."""

    def __init__(
        self,
        battery: BatteryPort,
        clock: Clock,
        broker: BrokerAddress,
        model: str = "hyper2000",
        *,
        product_key: str | None = None,
        device_key: str | None = None,
        report_interval_s: float = 5.0,
        change_interval_s: float | None = None,
    ) -> None:
        self.model: LegacyModel = MODELS[model]
        self.battery = battery
        self.clock = clock
        self.broker = broker
        self.topics = Topics(product_key or self.model.product_keys[0], device_key or _DEVICE_KEYS[model])
        self.report_interval_s = report_interval_s
        self.change_interval_s = (
            (30.0 if self.model.control == "automation_hub" else 0.0)
            if change_interval_s is None
            else change_interval_s
        )
        self.silent = False
        """Stop reporting (a device that dropped off Wi-Fi but still holds its broker session)."""
        self.ignore_writes = 0
        """Acknowledge the next N property writes (``success: 1``) without applying them (a known quirk)."""
        self.received: list[ReceivedMessage] = []
        self.ignored: list[str] = []
        self.connects = 0
        self.reports_sent = 0
        self.props: dict[str, int] = {
            "electricLevel": 50, "outputHomePower": 0, "gridInputPower": 0, "packInputPower": 0,
            "outputPackPower": 0, "acMode": 2, "inputLimit": 0, "outputLimit": 0, "socSet": 1000,
            "minSoc": 100,
            "inverseMaxPower": self.model.max_discharge_w, "hyperTmp": 2981, "socLimit": 0, "autoModel": 0,
            "packState": 0, "remainOutTime": 59940, "remainInputTime": 59940, "hubState": 0, "packNum": 1,
        }  # fmt: skip
        self._reported: dict[str, int] = {}
        self._lock = threading.RLock()
        self._target_w = 0.0
        self._last_change_mono = float("-inf")
        self._next_report = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = new_client(broker, self.topics.device_key)
        self._client.on_connect = self._on_connect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._subscribed = threading.Event()

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self, *, background: bool = True, wall_period_s: float = 0.1) -> None:
        """Connect (paho reconnects on its own); with ``background`` a thread calls :meth:`step`."""
        self._client.connect_async(self.broker.host, self.broker.port, keepalive=self.broker.keepalive_s)
        self._client.loop_start()
        if background:
            self._thread = threading.Thread(
                target=self._run, args=(wall_period_s,), name=f"sim-{self.model.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._client.disconnect()
        self._client.loop_stop()

    def _run(self, wall_period_s: float) -> None:
        while not self._stop.wait(wall_period_s):
            try:
                self.step()
            except Exception:  # noqa: BLE001 - the simulated firmware keeps running
                LOGGER.exception("simulated %s step failed", self.model.name)

    @property
    def connected(self) -> bool:
        """Connected and subscribed to its command topics."""
        return self._client.is_connected() and self._subscribed.is_set()

    # -- firmware -----------------------------------------------------------------------------------------
    def step(self) -> bool:
        """Refresh the measured values from the plant and report the changes when a report is due (True)."""
        now = self.clock.now()
        with self._lock:
            state = self.battery.state(now)
            p = self.props
            p["electricLevel"] = round(state.soc_pct)
            p["outputHomePower"] = max(0, round(state.ac_w))
            p["gridInputPower"] = max(0, round(-state.ac_w))
            p["packInputPower"] = max(0, round(state.pack_w))
            p["outputPackPower"] = max(0, round(-state.pack_w))
            p["packState"] = 2 if state.pack_w > 1 else 1 if state.pack_w < -1 else 0
            full, empty = state.soc_pct >= p["socSet"] / 10, state.soc_pct <= p["minSoc"] / 10
            p["socLimit"] = 1 if full else 2 if empty else 0
            self.battery.set_limits(
                0.0 if empty else self.model.max_discharge_w, 0.0 if full else self.model.max_charge_w
            )
            mono = self.clock.monotonic()
            if mono < self._next_report or self.silent or not self.connected:
                return False
            self._next_report = mono + self.report_interval_s
            delta = {k: v for k, v in p.items() if self._reported.get(k) != v}
        return self._report(delta or {"electricLevel": p["electricLevel"]})  # a quiet device still reports

    def _report(self, properties: dict[str, int], extra: dict[str, Any] | None = None) -> bool:
        body: dict[str, Any] = {
            "timestamp": int(self.clock.now().timestamp()),
            "messageId": 123,
            "product": _PRODUCT[self.model.name],
            "properties": properties,
            **(extra or {}),
        }
        info = self._client.publish(self.topics.report, json.dumps(body), qos=0)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            return False
        with self._lock:
            self._reported.update(properties)
            self.reports_sent += 1
        return True

    def _full_report(self) -> None:
        with self._lock:
            props = dict(self.props)
            pack = {
                "sn": f"SIM{self.topics.device_key.upper()}",
                "socLevel": props["electricLevel"],
                "maxTemp": 2961,
            }
        self._report(props, {"packData": [pack]})

    # -- MQTT (network thread) ----------------------------------------------------------------------------
    def _on_connect(
        self, client: mqtt.Client, _ud: Any, _flags: Any, reason: ReasonCode, _props: Properties | None
    ) -> None:
        if reason.is_failure:
            return
        self.connects += 1
        self._subscribed.clear()
        client.subscribe(self.topics.device_inbox, qos=1)

    def _on_subscribe(
        self, _c: mqtt.Client, _ud: Any, _mid: int, _r: list[ReasonCode], _p: Properties | None
    ) -> None:
        self._subscribed.set()

    def _on_message(self, _c: mqtt.Client, _ud: Any, message: mqtt.MQTTMessage) -> None:
        try:
            body = decode_message(bytes(message.payload))
            self.received.append(ReceivedMessage(self.clock.now(), message.topic, body))
            rest = message.topic.removeprefix(f"iot/{self.topics.product_key}/{self.topics.device_key}/")
            if rest == "properties/read":
                if "getAll" in body.get("properties", []) and not self.silent:
                    self._full_report()
            elif rest == "properties/write":
                self._write(body)
            elif rest == "function/invoke" and body.get("function") == "deviceAutomation":
                self._automation(body)
        except Exception:  # noqa: BLE001 - a bad message is logged, the firmware keeps running
            LOGGER.exception("simulated %s: message on %s failed", self.model.name, message.topic)

    def _set_power(self, watts: float, source: str) -> None:
        """A new set-point (+ discharge, − charge), subject to the Hub's pacing and step quirks."""
        mono = self.clock.monotonic()
        if watts < 0 and self.model.max_charge_w == 0:
            self.ignored.append(f"{source}: {self.model.label} cannot charge from AC")
            return
        if watts != self._target_w and mono - self._last_change_mono < self.change_interval_s:
            self.ignored.append(f"{source}: change within {self.change_interval_s:g} s of the last one")
            return
        if self.model.hub_steps and 0 < watts < 100:
            watts = 30 * (int(watts) // 30)
        if watts != self._target_w:
            self._last_change_mono = mono
        self._target_w = watts
        self.battery.set_target(watts, self.clock.now())

    def _automation(self, body: dict[str, Any]) -> None:
        args = body.get("arguments")
        if not isinstance(args, list) or not args or not isinstance(args[0], dict):
            self.ignored.append("deviceAutomation without arguments")
            return
        arg = args[0]
        program, value = arg.get("autoModelProgram"), arg.get("autoModelValue")
        with self._lock:
            self.props["autoModel"] = int(arg.get("autoModel", 0))
            if program == 0:
                self._set_power(0.0, "deviceAutomation off")
            elif program == 1 and isinstance(value, dict):
                self.props["acMode"] = 1
                self._set_power(-float(value.get("chargingPower", 0)), "deviceAutomation charge")
            elif program == 2:
                watts = value.get("outPower", 0) if isinstance(value, dict) else value
                self.props["acMode"] = 2
                self._set_power(
                    float(watts if isinstance(watts, int | float) else 0), "deviceAutomation discharge"
                )
            else:
                self.ignored.append(f"deviceAutomation program {program!r} not understood")

    def _write(self, body: dict[str, Any]) -> None:
        props = body.get("properties")
        if not isinstance(props, dict):
            return
        with self._lock:
            if self.ignore_writes > 0:
                self.ignore_writes -= 1
                self.ignored.append("properties/write acknowledged but not applied")
                current = {k: self.props[k] for k in props if k in self.props}
                ack = {
                    "messageId": body.get("messageId", 0),
                    "success": 1,
                    "deviceId": self.topics.device_key,
                }
                self._report(current, ack)
                return
            applied = {}
            for key, value in props.items():
                if key not in self.props or not isinstance(value, int):
                    continue
                if key == "outputLimit" and self.props["autoModel"] != 0 and props.get("autoModel") != 0:
                    self.ignored.append("outputLimit write while autoModel != 0")
                    continue
                applied[key] = value
            self.props.update(applied)
            if {"acMode", "inputLimit", "outputLimit"} & applied.keys():
                p = self.props
                watts = -p["inputLimit"] if p["acMode"] == 1 else p["outputLimit"]
                self._set_power(float(watts), "properties/write")
        self._report(
            applied, {"messageId": body.get("messageId", 0), "success": 1, "deviceId": self.topics.device_key}
        )
