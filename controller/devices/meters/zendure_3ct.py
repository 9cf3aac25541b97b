"""Zendure SmartMeter3CT: a clamp meter that answers the zenSDK ``GET /properties/report`` on the LAN.

The report is flat (``timestamp`` in Unix seconds, ``a/b/c_aprt_power`` and ``total_power`` in W, + = import)
or wrapped in the SolarFlow envelope ``{"sn", "properties": {...}}``. The device's ``timestamp`` is its own
time, so new data is told by it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import requests
from pydantic import BaseModel, ConfigDict, ValidationError

from controller.clock import Clock
from controller.devices.errors import InvalidPayload
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import http_request, json_body, lan_session
from controller.devices.meters.base import NewDataFilter
from controller.domain.events import MeterReading

__all__ = ["SmartMeter3CT", "SmartMeter3CTReport"]

_MAX_POWER_W = 1_000_000.0


class SmartMeter3CTReport(BaseModel):
    """The fields zsm uses from a SmartMeter3CT report."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    timestamp: int | None = None
    deviceId: str | None = None  # noqa: N815 - wire name
    a_aprt_power: float | None = None
    b_aprt_power: float | None = None
    c_aprt_power: float | None = None
    total_power: float | None = None

    @classmethod
    def from_body(cls, body: Any) -> SmartMeter3CTReport:
        """Validate a report body, flat or in the ``{"sn", "properties"}`` envelope."""
        if isinstance(body, dict) and isinstance(body.get("properties"), dict):
            body = {**body["properties"], **{k: v for k, v in body.items() if k == "timestamp"}}
        if not isinstance(body, dict):
            raise InvalidPayload("SmartMeter3CT report: not an object")
        try:
            return cls.model_validate(body)
        except ValidationError as err:
            raise InvalidPayload(f"SmartMeter3CT report: {err}") from err

    def to_reading(self, at: datetime) -> MeterReading:
        """The domain reading; :class:`InvalidPayload` without any power or with an absurd one."""
        phases = tuple(p for p in (self.a_aprt_power, self.b_aprt_power, self.c_aprt_power) if p is not None)
        grid = self.total_power if self.total_power is not None else (sum(phases) if phases else None)
        if grid is None:
            raise InvalidPayload("SmartMeter3CT report has no total_power (is this a SolarFlow battery?)")
        if any(abs(v) > _MAX_POWER_W for v in (grid, *phases)):
            raise InvalidPayload(f"SmartMeter3CT report: power out of range ({grid} W)")
        meter_time = datetime.fromtimestamp(self.timestamp, UTC) if self.timestamp else None
        return MeterReading(
            at=at, grid_w=float(grid), meter_time=meter_time, phases_w=tuple(map(float, phases)) or None
        )


class SmartMeter3CT:
    """Polls ``/properties/report`` of a SmartMeter3CT at ``endpoint``."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        port: int = 80,
        timeout_s: float = 2.0,
        session: requests.Session | None = None,
    ) -> None:
        self._endpoint = as_resolver(endpoint, port)
        self._clock = clock
        self.timeout_s = timeout_s
        self._session = session or lan_session()
        self._filter = NewDataFilter()

    def report(self) -> SmartMeter3CTReport:
        host, port = self._endpoint.address()
        response = http_request(
            self._session,
            "GET",
            f"http://{host}:{port}/properties/report",
            timeout_s=self.timeout_s,
            what="SmartMeter3CT report",
            endpoint=self._endpoint,
        )
        return SmartMeter3CTReport.from_body(json_body(response, "SmartMeter3CT report"))

    def reading(self) -> MeterReading:
        return self.report().to_reading(self._clock.now())

    def read(self) -> MeterReading | None:
        reading = self.reading()
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        self._session.close()
