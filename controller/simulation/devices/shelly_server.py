"""Simulated Shelly energy meters and a Zendure SmartMeter3CT over HTTP on loopback.

- ``pro3em`` (Gen2+): ``/rpc/EM.GetStatus``, ``/rpc/EMData.GetStatus``; the phases of the meter sample.
- ``proem`` (Pro EM-50, Gen2+): ``/rpc/EM1.GetStatus?id=N`` / ``EM1Data``; the grid clamp on ``grid_channel``
  (``em1:1`` on many installations), the other channel reads a small load.
- ``em`` / ``3em`` (Gen1): ``/status`` with an ``emeters`` list (``power`` W, ``total`` and
  ``total_returned`` Wh).
- ``/shelly`` answers the device info (Gen2+: ``gen``, ``app``; Gen1: ``type``).

:class:`SmartMeter3CTServer` answers the zenSDK ``GET /properties/report`` of the SmartMeter3CT (flat body,
``timestamp`` in Unix seconds of the sample). Values come from a :class:`MeterPort` (the plant).
"""

from __future__ import annotations

import json
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from controller.clock import Clock
from controller.simulation.devices.http_base import LoopbackHTTPServer, Reply
from controller.simulation.devices.ports import MeterPort, MeterSample

__all__ = ["ShellyModel", "ShellyServer", "SmartMeter3CTServer"]

ShellyModel = Literal["pro3em", "proem", "em", "3em"]

_OTHER_CHANNEL_W = 42.0
"""What the Pro EM's non-grid channel reads (a small load), so a wrong channel is visible."""


def _json(status: int, body: Any) -> Reply:
    return status, "application/json", json.dumps(body).encode()


class ShellyServer:
    """A Shelly energy meter of ``model`` showing ``meter``'s samples."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        model: ShellyModel = "pro3em",
        grid_channel: int = 1,
        mac: str = "A8032ABE54DC",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.meter = meter
        self.clock = clock
        self.model = model
        self.grid_channel = grid_channel
        self.mac = mac
        self.requests = 0
        self._http = LoopbackHTTPServer(self._handle, host=host, port=port, name=f"shelly-{model}")

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def info(self) -> dict[str, Any]:
        """``GET /shelly``."""
        if self.model in ("em", "3em"):
            return {
                "type": "SHEM" if self.model == "em" else "SHEM-3",
                "mac": self.mac,
                "fw": "20230913-114244",
            }
        app = "Pro3EM" if self.model == "pro3em" else "ProEM"
        return {"id": f"shelly{app.lower()}-{self.mac.lower()}", "mac": self.mac, "gen": 2, "app": app}

    def _sample(self) -> MeterSample | None:
        return self.meter.reading_at(self.clock.now())

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        self.requests += 1
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        channel = int(query.get("id", ["0"])[0]) if query.get("id", ["0"])[0].isdigit() else -1
        if parts.path == "/shelly":
            return _json(200, self.info())
        sample = self._sample()
        if sample is None:
            return _json(503, {"code": 503, "message": "no measurement yet"})
        gen1 = self.model in ("em", "3em")
        if gen1 and parts.path == "/status":
            return _json(200, self._gen1_status(sample))
        if self.model == "pro3em" and parts.path == "/rpc/EM.GetStatus" and channel == 0:
            return _json(200, self._em_status(sample))
        if self.model == "pro3em" and parts.path == "/rpc/EMData.GetStatus" and channel == 0:
            return _json(
                200,
                {"id": 0, "total_act": sample.import_kwh * 1000, "total_act_ret": sample.export_kwh * 1000},
            )
        if self.model == "proem" and parts.path == "/rpc/EM1.GetStatus" and channel in (0, 1):
            power = sample.grid_w if channel == self.grid_channel else _OTHER_CHANNEL_W
            return _json(200, {"id": channel, "act_power": round(power, 1), "voltage": 230.1, "freq": 50.0})
        if self.model == "proem" and parts.path == "/rpc/EM1Data.GetStatus" and channel in (0, 1):
            grid = channel == self.grid_channel
            return _json(
                200,
                {
                    "id": channel,
                    "total_act_energy": sample.import_kwh * 1000 if grid else 1000.0,
                    "total_act_ret_energy": sample.export_kwh * 1000 if grid else 0.0,
                },
            )
        return _json(404, {"code": 404, "message": f"No handler for {parts.path}"})

    @staticmethod
    def _em_status(sample: MeterSample) -> dict[str, Any]:
        phases = list(sample.phases_w) + [0.0] * (3 - len(sample.phases_w))
        return {
            "id": 0,
            "a_act_power": round(phases[0], 1),
            "b_act_power": round(phases[1], 1),
            "c_act_power": round(phases[2], 1),
            "total_act_power": round(sum(phases), 3),
        }

    def _gen1_status(self, sample: MeterSample) -> dict[str, Any]:
        count = 3 if self.model == "3em" else 2
        if self.model == "3em":
            powers = list(sample.phases_w[:3]) + [0.0] * (3 - len(sample.phases_w[:3]))
        else:  # EM: the grid clamp on channel 0, a load clamp on channel 1
            powers = [sample.grid_w, _OTHER_CHANNEL_W]
        share = [1.0 / count] * count if self.model == "3em" else [1.0, 0.0]
        emeters = [
            {
                "power": round(power, 2),
                "reactive": 0.0,
                "voltage": 230.5,
                "is_valid": True,
                "total": round(sample.import_kwh * 1000 * part, 1),
                "total_returned": round(sample.export_kwh * 1000 * part, 1),
            }
            for power, part in zip(powers, share, strict=True)
        ]
        return {"emeters": emeters, "total_power": round(sum(powers), 2), "mac": self.mac}


class SmartMeter3CTServer:
    """A Zendure SmartMeter3CT answering ``GET /properties/report`` from ``meter``."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        device_id: str = "61u1m6E3",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.meter = meter
        self.clock = clock
        self.device_id = device_id
        self._message_id = 0
        self._http = LoopbackHTTPServer(self._handle, host=host, port=port, name="smartmeter3ct")

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if method != "GET" or urlsplit(target).path != "/properties/report":
            return _json(400, {"code": 400, "error": "Invalid method"})
        sample = self.meter.reading_at(self.clock.now())
        if sample is None:
            return _json(503, {"code": 503, "error": "no measurement yet"})
        phases = list(sample.phases_w[:3]) + [0.0] * (3 - len(sample.phases_w[:3]))
        self._message_id += 1
        return _json(
            200,
            {
                "timestamp": int(sample.at.timestamp()),
                "messageId": self._message_id,
                "deviceId": self.device_id,
                "a_aprt_power": round(phases[0]),
                "b_aprt_power": round(phases[1]),
                "c_aprt_power": round(phases[2]),
                "total_power": round(sum(phases)),
            },
        )
