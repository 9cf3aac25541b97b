"""A generic meter: GET a URL, take one number at a JSON path, scale by unit and sign.

Path syntax: dots or slashes between keys, ``[n]`` or a bare number for list items, e.g.
``power.total``, ``data/[1]/power``, ``emeters.0.power``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

import requests

from controller.clock import Clock
from controller.devices.errors import InvalidPayload
from controller.devices.http import http_request, json_body, lan_session
from controller.devices.meters.base import NewDataFilter
from controller.domain.events import MeterReading

__all__ = ["JsonHttpMeter", "extract"]

_PART = re.compile(r"^\[?(\d+)\]?$")


def extract(document: Any, path: str) -> Any:
    """The value at ``path`` in ``document``; :class:`InvalidPayload` naming the missing part."""
    value = document
    for part in (p for p in re.split(r"[./]", path) if p):
        index = _PART.match(part)
        if isinstance(value, list) and index is not None:
            position = int(index.group(1))
            if position >= len(value):
                raise InvalidPayload(f"JSON path {path!r}: index {position} out of range")
            value = value[position]
        elif isinstance(value, dict) and part in value:
            value = value[part]
        else:
            raise InvalidPayload(f"JSON path {path!r}: no {part!r}")
    return value


class JsonHttpMeter:
    """Any HTTP JSON source: ``url`` + ``json_path`` + ``unit`` (W/kW) + ``sign`` (+1 when + = import)."""

    def __init__(
        self,
        url: str,
        json_path: str,
        *,
        clock: Clock,
        unit: Literal["W", "kW"] = "W",
        sign: Literal[1, -1] = 1,
        timeout_s: float = 2.0,
        session: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.json_path = json_path
        self._clock = clock
        self._scale = (1000.0 if unit == "kW" else 1.0) * sign
        self.timeout_s = timeout_s
        self._session = session or lan_session()
        self._filter = NewDataFilter()

    def reading(self) -> MeterReading:
        response = http_request(
            self._session, "GET", self.url, timeout_s=self.timeout_s, what=f"meter {self.url}"
        )
        value = extract(json_body(response, f"meter {self.url}"), self.json_path)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidPayload(f"meter {self.url}: {self.json_path} is not a number: {value!r}")
        try:
            number = float(value)
        except ValueError as err:
            raise InvalidPayload(f"meter {self.url}: {self.json_path} is not a number: {value!r}") from err
        return MeterReading(at=self._clock.now(), grid_w=number * self._scale)

    def read(self) -> MeterReading | None:
        reading = self.reading()
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        self._session.close()
