"""Shelly energy meters over the Gen2+ RPC HTTP API (no timestamp: new data is told by value changes).

- ``pro3em``: ``/rpc/EM.GetStatus?id=0`` (``total_act_power``, ``a/b/c_act_power``) and
  ``/rpc/EMData.GetStatus?id=0`` (``total_act``/``total_act_ret`` in Wh).
- ``em1`` (EM Gen3, Pro EM): ``/rpc/EM1.GetStatus?id=N`` (``act_power``) and ``/rpc/EM1Data.GetStatus?id=N``
  (``total_act_energy``/``total_act_ret_energy`` in Wh).
"""

from __future__ import annotations

from typing import Any, Literal

import requests
from pydantic import BaseModel, ConfigDict, ValidationError

from controller.clock import Clock
from controller.devices.errors import DeviceError, InvalidPayload
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import http_request, json_body, lan_session
from controller.devices.meters.base import NewDataFilter
from controller.domain.events import MeterReading

__all__ = ["ShellyMeter"]


class _EMStatus(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    total_act_power: float
    a_act_power: float | None = None
    b_act_power: float | None = None
    c_act_power: float | None = None


class _EM1Status(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    act_power: float


class ShellyMeter:
    """A Shelly Pro 3EM (``variant="pro3em"``) or EM Gen3 / Pro EM channel (``variant="em1"``)."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        variant: Literal["pro3em", "em1"] = "pro3em",
        channel: int = 0,
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
        host, port = self._endpoint.address()
        response = http_request(
            self._session,
            "GET",
            f"http://{host}:{port}/rpc/{method}?id={self.channel}",
            timeout_s=self.timeout_s,
            what=f"Shelly {method}",
            endpoint=self._endpoint,
        )
        body = json_body(response, f"Shelly {method}")
        if not isinstance(body, dict):
            raise InvalidPayload(f"Shelly {method}: not an object")
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
