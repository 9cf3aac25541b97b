"""Zendure's cloud-style MQTT protocol for the legacy devices (Hub 1200/2000, Hyper 2000, ACE 1500, AIO 2400).

Pure: topics, models, report parsing into a merged state, units, and command payloads. No I/O.
See ../shared/protocols/zendure-legacy-mqtt.md: reports arrive on ``/{pk}/{dk}/properties/report`` (leading
slash, often partial deltas), commands go to ``iot/{pk}/{dk}/...``; ``socSet``/``minSoc`` are per-mille,
temperatures 0.1 K; power control goes through ``function/invoke`` ``deviceAutomation`` (Hub, Hyper, AIO),
the ACE 1500 alone takes ``inputLimit``/``outputLimit`` writes; Hub output below 100 W only in 30 W steps.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from controller.devices.errors import InvalidPayload, PayloadTooLarge
from controller.domain.commands import Command, CommandKind
from controller.domain.events import BatteryReading

__all__ = [
    "MAX_MESSAGE_BYTES",
    "MODELS",
    "PRODUCT_KEYS",
    "DeviceState",
    "LegacyModel",
    "ModelName",
    "Topics",
    "command_message",
    "decode_message",
    "getall_message",
    "model_for_product_key",
    "parse_report_topic",
    "quantize_hub_output",
]

ModelName = Literal["hyper2000", "hub1200", "hub2000", "aio2400", "ace1500"]

MAX_MESSAGE_BYTES = 64 * 1024
"""Largest report accepted (a full getAll dump is a few KiB)."""
MAX_PROPERTIES = 400
MAX_PACKS = 8
_KELVIN_OFFSET_DECI = 2731
_GETALL = {"properties": ["getAll"]}


@dataclass(frozen=True)
class LegacyModel:
    """One legacy product: AC limits, how power is commanded, and how often the firmware takes a change."""

    name: ModelName
    label: str
    product_keys: tuple[str, ...]
    max_charge_w: int
    max_discharge_w: int
    control: Literal["automation_hub", "automation_hyper", "properties"]
    command_interval_s: float
    hub_steps: bool = False
    """Output below 100 W only in 30 W steps (Hub family)."""


MODELS: dict[str, LegacyModel] = {
    m.name: m
    for m in (
        LegacyModel("hub1200", "SolarFlow Hub 1200", ("73bkTV",), 0, 1200, "automation_hub", 30.0, True),
        LegacyModel("hub2000", "SolarFlow Hub 2000", ("A8yh63",), 0, 1200, "automation_hub", 30.0, True),
        LegacyModel("aio2400", "SolarFlow AIO 2400", ("yWF7hV",), 0, 1200, "automation_hyper", 30.0),
        LegacyModel(
            "hyper2000",
            "SolarFlow Hyper 2000",
            ("ja72U0ha", "gDa3tb", "B3Dxda"),
            1200,
            1200,
            "automation_hyper",
            10.0,
        ),  # fmt: skip
        LegacyModel("ace1500", "ACE 1500", ("8bM93H",), 900, 800, "properties", 30.0),
    )
}
"""Limits after Zendure-HA ``devices/*.py``; intervals after Zendure's guidance (10 s) and SFC (hubs 30 s)."""

PRODUCT_KEYS: dict[str, LegacyModel] = {key: m for m in MODELS.values() for key in m.product_keys}
"""Product key (case-sensitive, as in topics) → model."""


def model_for_product_key(product_key: str) -> LegacyModel | None:
    """The legacy model for a product key, or ``None`` (zenSDK-generation or unknown)."""
    return PRODUCT_KEYS.get(product_key)


@dataclass(frozen=True)
class Topics:
    """The topics of one device (``pk`` as configured or as last reported)."""

    product_key: str
    device_key: str

    @property
    def report(self) -> str:
        return f"/{self.product_key}/{self.device_key}/properties/report"

    @property
    def subscribe_reports(self) -> str:
        """Every device topic of this device key, whatever the product key (keys drift with firmware)."""
        return f"/+/{self.device_key}/#"

    @property
    def read(self) -> str:
        return f"iot/{self.product_key}/{self.device_key}/properties/read"

    @property
    def write(self) -> str:
        return f"iot/{self.product_key}/{self.device_key}/properties/write"

    @property
    def invoke(self) -> str:
        return f"iot/{self.product_key}/{self.device_key}/function/invoke"

    @property
    def device_inbox(self) -> str:
        """What a device subscribes to."""
        return f"iot/{self.product_key}/{self.device_key}/#"


def parse_report_topic(topic: str) -> tuple[str, str, str] | None:
    """``/{pk}/{dk}/{rest}`` → ``(pk, dk, rest)``; ``None`` for any other topic."""
    if not topic.startswith("/") or len(topic) > 256:
        return None
    parts = topic[1:].split("/", 2)
    if len(parts) != 3 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1], parts[2]


def _scalar(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)) or (
        isinstance(value, str) and len(value) <= 128
    )


def decode_message(payload: bytes) -> dict[str, Any]:
    """A JSON object from the wire; :class:`PayloadTooLarge` / :class:`InvalidPayload` otherwise."""
    if len(payload) > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"mqtt message of {len(payload)} bytes (limit {MAX_MESSAGE_BYTES})")
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidPayload(f"mqtt message is not JSON: {payload[:80]!r}") from err
    if not isinstance(data, dict):
        raise InvalidPayload(f"mqtt message is not a JSON object: {type(data).__name__}")
    return data


@dataclass
class DeviceState:
    """Everything one device has reported, merged: reports are deltas (only changed keys)."""

    model: LegacyModel
    properties: dict[str, int | float | str] = field(default_factory=dict)
    packs: dict[str, dict[str, int | float | str]] = field(default_factory=dict)
    reports: int = 0
    rejected: list[str] = field(default_factory=list)

    def merge(self, message: dict[str, Any]) -> list[str]:
        """Fold one report in; returns the reasons for items skipped (the rest is kept).

        Accepts the cloud envelope (``properties`` + ``packData``) and the flat developer-broker form.
        """
        problems: list[str] = []
        props = message.get("properties", message if "properties" not in message else None)
        if not isinstance(props, dict):
            problems.append("properties is not an object")
            props = {}
        if len(props) > MAX_PROPERTIES:
            problems.append(f"{len(props)} properties (limit {MAX_PROPERTIES}); report skipped")
            props = {}
        for key, value in props.items():
            if not isinstance(key, str) or len(key) > 64:
                problems.append(f"property name {str(key)[:64]!r} rejected")
            elif _scalar(value):
                self.properties[key] = value
            elif key not in ("packData",):
                problems.append(f"{key}: {type(value).__name__} value rejected")
        packs = message.get("packData", [])
        if isinstance(packs, list):
            for pack in packs[:MAX_PACKS]:
                if isinstance(pack, dict) and isinstance(pack.get("sn"), str):
                    entry = self.packs.setdefault(pack["sn"][:64], {})
                    entry.update({k: v for k, v in pack.items() if isinstance(k, str) and _scalar(v)})
            if len(packs) > MAX_PACKS:
                problems.append(f"{len(packs)} packs (limit {MAX_PACKS}); rest skipped")
        self.reports += 1
        self.rejected = problems
        return problems

    def _int(self, key: str) -> int | None:
        value = self.properties.get(key)
        return int(value) if isinstance(value, int | float) else None

    @property
    def soc_pct(self) -> float | None:
        value = self._int("electricLevel")
        return None if value is None else float(min(100, max(0, value)))

    @property
    def battery_w(self) -> float:
        """AC power: + discharge into the home, − charging from AC."""
        return float((self._int("outputHomePower") or 0) - (self._int("gridInputPower") or 0))

    @property
    def max_soc_pct(self) -> float | None:
        """``socSet`` in % (wire per-mille)."""
        value = self._int("socSet")
        return None if value is None else value / 10

    @property
    def min_soc_pct(self) -> float | None:
        """``minSoc`` in % (wire per-mille)."""
        value = self._int("minSoc")
        return None if value is None else value / 10

    @property
    def temperature_c(self) -> float | None:
        """``hyperTmp`` (0.1 K), else the hottest pack ``maxTemp`` (0.1 K), in °C."""
        raw = self._int("hyperTmp")
        if raw is None:
            temps = [
                int(p["maxTemp"]) for p in self.packs.values() if isinstance(p.get("maxTemp"), int | float)
            ]
            raw = max(temps) if temps else None
        return None if raw is None else round((raw - _KELVIN_OFFSET_DECI) / 10, 1)

    @property
    def max_discharge_w(self) -> int:
        live = self._int("inverseMaxPower")
        limit = self.model.max_discharge_w
        return limit if live is None else max(0, min(limit, live))

    @property
    def max_charge_w(self) -> int:
        return self.model.max_charge_w

    def fault(self) -> str | None:
        if self.soc_pct is None:
            return "no electricLevel reported yet"
        return None

    def to_reading(self, at: datetime) -> BatteryReading:
        """The domain reading of the merged state, received at ``at``."""
        soc_limit = self._int("socLimit")
        ac_mode = self._int("acMode")
        return BatteryReading(
            at=at,
            soc_pct=self.soc_pct or 0.0,
            battery_w=self.battery_w,
            max_discharge_w=self.max_discharge_w,
            max_charge_w=self.max_charge_w,
            temperature_c=self.temperature_c,
            soc_limit=soc_limit if soc_limit in (0, 1, 2) else 0,
            ac_mode=ac_mode,
            fault=self.fault(),
        )


def quantize_hub_output(watts: int) -> int:
    """Hub output below 100 W only as 0/30/60/90 (nearest step, as SFC/ODB round)."""
    if watts >= 100:
        return watts
    return 30 * round(max(0, watts) / 30)


def _automation(program: int, value: Any, auto_model: int) -> dict[str, Any]:
    return {
        "function": "deviceAutomation",
        "arguments": [
            {"autoModelProgram": program, "autoModelValue": value, "msgType": 1, "autoModel": auto_model}
        ],
    }


def _hyper_value(charge_w: int, discharge_w: int) -> dict[str, Any]:
    if charge_w:
        return {
            "chargingType": 1, "price": 2, "chargingPower": charge_w, "prices": [1] * 24,
            "outPower": 0, "freq": 0,
        }  # fmt: skip
    return {"chargingType": 0, "chargingPower": 0, "freq": 0, "outPower": discharge_w}


def command_message(
    command: Command, model: LegacyModel, *, max_charge_w: int, max_discharge_w: int
) -> tuple[Literal["invoke", "write"], dict[str, Any], int]:
    """``(kind, body, signed watts)`` for ``command``: the topic kind, the payload and the set-point sent.

    Power is clamped to the live limits; a charge on a model that cannot charge from AC becomes standby.
    The envelope (``messageId``, ``deviceKey``/``deviceId``, ``timestamp``) is added by the client.
    """
    charge = min(command.power_w, max(0, max_charge_w)) if command.kind is CommandKind.CHARGE else 0
    discharge = min(command.power_w, max(0, max_discharge_w)) if command.kind is CommandKind.DISCHARGE else 0
    if model.control == "properties":
        if charge:
            charge = max(50, 50 * round(charge / 50))  # ACE: flash-backed, 50 W steps (Zendure-HA)
            return (
                "write",
                {"properties": {"autoModel": 0, "acMode": 1, "inputLimit": charge, "outputLimit": 0}},
                -charge,
            )
        return (
            "write",
            {"properties": {"autoModel": 0, "acMode": 2, "inputLimit": 0, "outputLimit": discharge}},
            discharge,
        )
    if model.control == "automation_hub":
        watts = quantize_hub_output(discharge)
        if watts:
            return "invoke", _automation(2, watts, 8), watts
        return "invoke", _automation(0, 0, 0), 0
    if charge:
        return "invoke", _automation(1, _hyper_value(charge, 0), 8), -charge
    if discharge:
        return "invoke", _automation(2, _hyper_value(0, discharge), 8), discharge
    return "invoke", _automation(0, _hyper_value(0, 0), 0), 0


def getall_message() -> dict[str, Any]:
    """The body that asks a device for a full report."""
    return dict(_GETALL)
