"""A simulated HomeWizard P1 meter: API v1 over HTTP (this module) and API v2 over HTTPS
(:mod:`controller.simulation.devices.homewizard_v2_server`), both fed by a meter port.

v1 per ../shared/protocols/p1-meters.md §5.2: ``/api``, ``/api/v1/data`` (signed per-phase powers, currents
signed like their phase, L2/L3 left out for single-phase, an optional legacy mode with explicit ``null``s),
``/api/v1/telegram`` (the same sample as a CRC-correct DSMR 5 telegram, ``text/plain``), ``/api/v1/system``,
``/api/v1/identify``; an API-off toggle (403 id 202), response latency and dropped requests.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from controller.clock import Clock
from controller.simulation.devices.http_base import LoopbackHTTPServer, Reply
from controller.simulation.devices.ports import MeterPort, MeterSample
from controller.simulation.devices.telegrams import Profile, TelegramRenderer

__all__ = ["HomeWizardFaults", "HomeWizardV1Server", "MeterView"]

LOGGER = logging.getLogger(__name__)

_SMR_VERSION = {"nl5": 50, "nl4": 42, "nl22": 22, "be5": 50}


@dataclass
class HomeWizardFaults:
    """Switchable behaviours of the fake P1 meter."""

    api_disabled: bool = False
    latency_s: float = 0.0
    """Wall-clock delay before each answer."""
    drop_requests: bool = False
    """Close connections without answering (a hung meter)."""
    legacy_nulls: bool = False
    """Older firmware: unavailable fields sent as explicit ``null``."""


class MeterView:
    """The newest meter sample with its telegram, rendered once per sample (shared by v1 and v2)."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        profile: Profile = "nl5",
        clock_offset_s: float = 0.0,
        factory_date: bool = False,
    ) -> None:
        self.meter = meter
        self.clock = clock
        self.profile = profile
        self.renderer = TelegramRenderer(profile, clock_offset_s=clock_offset_s, factory_date=factory_date)
        self._lock = threading.Lock()
        self._cached: tuple[datetime, MeterSample, str] | None = None
        self.frozen = False
        """Fault (P1 spec §5.1 "a value frozen for N s"): keep serving the last sample and its telegram."""

    def current(self) -> tuple[MeterSample, str] | None:
        """``(sample, telegram)`` the meter shows now, or ``None`` before the first measurement."""
        with self._lock:
            if self.frozen and self._cached is not None:
                return self._cached[1], self._cached[2]
            sample = self.meter.reading_at(self.clock.now())
            if sample is None:
                return None
            if self._cached is None or self._cached[0] != sample.at:
                self._cached = (sample.at, sample, self.renderer.render(sample))
            return self._cached[1], self._cached[2]

    def meter_time(self, sample: MeterSample) -> datetime:
        return self.renderer.meter_time(sample)


def measurement_fields(view: MeterView, sample: MeterSample, *, v2: bool) -> dict[str, Any]:
    """The P1 measurement in v1 (``active_power_w`` …) or v2 (``power_w`` …) field names."""
    i1, i2, e1, e2 = view.renderer.registers()
    tariff = view.renderer.tariff_at(view.meter_time(sample))
    phases = sample.phases_w
    watts = [round(p) for p in phases]
    amps = [round(p / 230.0, 2) for p in phases]
    if v2:
        data: dict[str, Any] = {
            "protocol_version": _SMR_VERSION[view.profile],
            "meter_model": "ISKRA  2M550T-101",
            "unique_id": "00112233445566778899AABBCCDDEEFF",
            "tariff": tariff,
            "energy_import_kwh": round(i1 + i2, 3),
            "energy_import_t1_kwh": round(i1, 3),
            "energy_import_t2_kwh": round(i2, 3),
            "energy_export_kwh": round(e1 + e2, 3),
            "energy_export_t1_kwh": round(e1, 3),
            "energy_export_t2_kwh": round(e2, 3),
            "power_w": sum(watts),
            "current_a": round(sum(abs(a) for a in amps), 2),
        }
        if view.profile != "nl22" and not view.renderer.factory_date:
            local = view.meter_time(sample).astimezone(view.renderer.zone)
            data["timestamp"] = local.replace(tzinfo=None).isoformat(timespec="seconds")
        for n, (w, a) in enumerate(zip(watts, amps, strict=True), start=1):
            data[f"power_l{n}_w"] = w
            data[f"current_l{n}_a"] = a
            data[f"voltage_l{n}_v"] = 230.0
        return data
    data = {
        "wifi_ssid": "zsm-sim",
        "wifi_strength": 100,
        "smr_version": _SMR_VERSION[view.profile],
        "meter_model": "ISKRA  2M550T-101",
        "unique_id": "00112233445566778899AABBCCDDEEFF",
        "active_tariff": tariff,
        "total_power_import_kwh": round(i1 + i2, 3),
        "total_power_import_t1_kwh": round(i1, 3),
        "total_power_import_t2_kwh": round(i2, 3),
        "total_power_export_kwh": round(e1 + e2, 3),
        "total_power_export_t1_kwh": round(e1, 3),
        "total_power_export_t2_kwh": round(e2, 3),
        "active_power_w": sum(watts),
    }
    for n, (w, a) in enumerate(zip(watts, amps, strict=True), start=1):
        data[f"active_power_l{n}_w"] = w
        data[f"active_current_l{n}_a"] = a
        data[f"active_voltage_l{n}_v"] = 230.0
    return data


class HomeWizardV1Server:
    """HomeWizard P1 meter, API v1, on ``host:port`` (``start()``/``stop()``, ``url``, ``port``)."""

    def __init__(
        self,
        meter: MeterPort,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        serial: str = "3c39e7aabbcc",
        profile: Profile = "nl5",
        clock_offset_s: float = 0.0,
        factory_date: bool = False,
        faults: HomeWizardFaults | None = None,
        view: MeterView | None = None,
    ) -> None:
        self.serial = serial
        self.faults = faults or HomeWizardFaults()
        self.view = view or MeterView(
            meter, clock, profile=profile, clock_offset_s=clock_offset_s, factory_date=factory_date
        )
        self.cloud_enabled = True
        self.identify_count = 0
        self.requests = 0
        self._http = LoopbackHTTPServer(self._handle, host=host, port=port, name="homewizard-v1")

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> None:
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    def device(self) -> dict[str, Any]:
        return {
            "product_type": "HWE-P1",
            "product_name": "P1 Meter",
            "serial": self.serial,
            "firmware_version": "5.18",
            "api_version": "v1",
        }

    @staticmethod
    def _json(status: int, body: Any) -> Reply:
        return status, "application/json", json.dumps(body).encode()

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        self.requests += 1
        if self.faults.drop_requests:
            return None
        if self.faults.latency_s > 0:
            threading.Event().wait(self.faults.latency_s)
        path = urlsplit(target).path.rstrip("/") or "/"
        if path == "/api" and method == "GET":
            return self._json(200, self.device())
        if path.startswith("/api/v1/") and self.faults.api_disabled:
            return self._json(403, {"error": {"id": 202, "description": "API not enabled"}})
        if path == "/api/v1/data" and method == "GET":
            return self._data()
        if path == "/api/v1/telegram" and method == "GET":
            current = self.view.current()
            if current is None:
                return self._json(500, {"error": {"id": 901, "description": "No telegram yet"}})
            return 200, "text/plain", current[1].encode("ascii")
        if path == "/api/v1/system":
            if method == "PUT":
                try:
                    update = json.loads(body or b"{}")
                except ValueError:
                    return self._json(400, {"error": {"id": 2, "description": "Invalid JSON"}})
                if isinstance(update, dict) and isinstance(update.get("cloud_enabled"), bool):
                    self.cloud_enabled = update["cloud_enabled"]
            return self._json(200, {"cloud_enabled": self.cloud_enabled})
        if path == "/api/v1/identify" and method == "PUT":
            self.identify_count += 1
            return self._json(200, {"identify": "ok"})
        return self._json(404, {"error": {"id": 404, "description": "Not found"}})

    def _data(self) -> Reply:
        current = self.view.current()
        if current is None:
            return self._json(200, {"smr_version": None} if self.faults.legacy_nulls else {})
        data = measurement_fields(self.view, current[0], v2=False)
        if self.faults.legacy_nulls:
            data.update({"total_gas_m3": None, "gas_timestamp": None, "active_power_average_w": None})
        return self._json(200, data)
