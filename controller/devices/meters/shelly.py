"""Shelly energy meters over HTTP (no timestamp: new data is told by value changes).

- ``pro3em``: ``/rpc/EM.GetStatus?id=0`` (``total_act_power``, ``a/b/c_act_power``) and
  ``/rpc/EMData.GetStatus?id=0`` (``total_act``/``total_act_ret`` in Wh).
- ``em1`` (EM Gen3, Pro EM): ``/rpc/EM1.GetStatus?id=N`` (``act_power``) and ``/rpc/EM1Data.GetStatus?id=N``
  (``total_act_energy``/``total_act_ret_energy`` in Wh); ``channel`` = N (a Pro EM-50 has ``em1:0`` and
  ``em1:1``).
- ``gen1`` (Shelly EM, 3EM, first generation): ``/status`` ``emeters`` list (``power`` W, ``total`` and
  ``total_returned`` Wh, ``is_valid``); ``channel`` = one emeter, ``None`` = the sum of all (3EM).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.clock import Clock
from controller.devices.errors import DeviceError, InvalidPayload
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import http_request, json_body, lan_session
from controller.devices.meters.base import NewDataFilter
from controller.domain.events import MeterReading

__all__ = ["ShellyMeter", "gen1_reading"]


class _EMStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    total_act_power: float
    a_act_power: float | None = None
    b_act_power: float | None = None
    c_act_power: float | None = None


class _EM1Status(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    act_power: float


class _Gen1EMeter(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    power: float
    total: float | None = None
    total_returned: float | None = None
    is_valid: bool = True


class _Gen1Status(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    emeters: list[_Gen1EMeter] = Field(min_length=1, max_length=3)


def gen1_reading(body: Any, channel: int | None, at: datetime) -> MeterReading:
    """A Gen1 ``/status`` body → reading: one emeter (``channel``) or the sum of all; Wh → kWh."""
    try:
        status = _Gen1Status.model_validate(body)
    except ValidationError as err:
        raise InvalidPayload(f"Shelly Gen1 /status: {err}") from err
    if channel is not None and channel >= len(status.emeters):
        raise InvalidPayload(f"Shelly Gen1 /status: no emeter {channel} (it has {len(status.emeters)})")
    meters = status.emeters if channel is None else [status.emeters[channel]]
    invalid = [i for i, m in enumerate(meters) if not m.is_valid]
    if invalid:
        raise InvalidPayload(f"Shelly Gen1 /status: emeter reading not valid ({invalid})")

    def total(values: list[float | None]) -> float | None:
        return sum(v for v in values if v is not None) / 1000 if all(v is not None for v in values) else None

    return MeterReading(
        at=at,
        grid_w=float(sum(m.power for m in meters)),
        phases_w=tuple(float(m.power) for m in meters) if len(meters) > 1 else None,
        import_kwh=total([m.total for m in meters]),
        export_kwh=total([m.total_returned for m in meters]),
    )


class ShellyMeter:
    """A Shelly Pro 3EM (``variant="pro3em"``), an EM Gen3 / Pro EM channel (``variant="em1"``) or a Gen1
    EM / 3EM (``variant="gen1"``)."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        variant: Literal["pro3em", "em1", "gen1"] = "pro3em",
        channel: int | None = None,
        port: int = 80,
        timeout_s: float = 2.0,
        energy: bool = True,
        session: requests.Session | None = None,
    ) -> None:
        self._endpoint = as_resolver(endpoint, port)
        self._clock = clock
        self.variant = variant
        self.channel = channel
        self.timeout_s = timeout_s
        self.energy = energy
        self._session = session or lan_session()
        self._filter = NewDataFilter()

    def _get(self, method: str) -> Any:
        return self._fetch(f"/rpc/{method}?id={self.channel or 0}", method)

    def _fetch(self, path: str, what: str) -> Any:
        host, port = self._endpoint.address()
        response = http_request(
            self._session,
            "GET",
            f"http://{host}:{port}{path}",
            timeout_s=self.timeout_s,
            what=f"Shelly {what}",
            endpoint=self._endpoint,
        )
        body = json_body(response, f"Shelly {what}")
        if not isinstance(body, dict):
            raise InvalidPayload(f"Shelly {what}: not an object")
        return body

    def _energy(self, method: str, imp: str, exp: str) -> tuple[float | None, float | None]:
        if not self.energy:
            return None, None
        try:
            body = self._get(method)
        except DeviceError:
            self.energy = False  # older firmware without the data component: power only
            return None, None
        values = [body.get(imp), body.get(exp)]
        return tuple(float(v) / 1000 if isinstance(v, int | float) else None for v in values)  # type: ignore[return-value]

    def reading(self) -> MeterReading:
        if self.variant == "gen1":
            return gen1_reading(self._fetch("/status", "/status"), self.channel, self._clock.now())
        try:
            if self.variant == "pro3em":
                status = _EMStatus.model_validate(self._get("EM.GetStatus"))
                phases = tuple(
                    float(p)
                    for p in (status.a_act_power, status.b_act_power, status.c_act_power)
                    if p is not None
                )
                grid = status.total_act_power
                imp, exp = self._energy("EMData.GetStatus", "total_act", "total_act_ret")
            else:
                one = _EM1Status.model_validate(self._get("EM1.GetStatus"))
                phases = (float(one.act_power),)
                grid = one.act_power
                imp, exp = self._energy("EM1Data.GetStatus", "total_act_energy", "total_act_ret_energy")
        except ValidationError as err:
            raise InvalidPayload(f"Shelly status: {err}") from err
        return MeterReading(
            at=self._clock.now(),
            grid_w=float(grid),
            phases_w=phases or None,
            import_kwh=imp,
            export_kwh=exp,
        )

    def read(self) -> MeterReading | None:
        reading = self.reading()
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        self._session.close()
