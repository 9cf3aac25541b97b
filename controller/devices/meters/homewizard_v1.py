"""HomeWizard P1 meter, local API v1 (plain HTTP, no authentication).

``/api/v1/data`` carries the values but no timestamp; the meter's own time comes from the raw telegram at
``/api/v1/telegram`` (``0-0:1.0.0``). A control tick (:meth:`HomeWizardV1Meter.read`) costs one request over
a kept-alive connection (:class:`~controller.devices.http.LanClient`): the raw telegram carries both the
powers and the meter's time. Only its few OBIS lines with a power or energy unit are read
(:func:`telegram_reading`, which computes what
:func:`~controller.devices.meters.dsmr_reading.telegram_to_reading` computes from a ``dsmr_parser`` parse,
without building a telegram object): ``dsmr_parser``'s full parse costs 1.6 ms per telegram and its parser
module 18 MB, more than the whole tick budget. A telegram without ``1-0:1.7.0`` takes its power from the
per-phase lines, without those it is an invalid reading; without a telegram (404) or a time in it
(DSMR 2.2) the tick reads ``/api/v1/data`` and tells new data by values.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError

from controller.clock import Clock
from controller.devices.errors import DeviceResponseError, InvalidPayload
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import LanClient, LanResponse, json_body
from controller.devices.meters.base import NewDataFilter
from controller.domain.events import MeterReading

__all__ = [
    "HomeWizardDevice",
    "HomeWizardV1Data",
    "HomeWizardV1Meter",
    "telegram_reading",
    "telegram_time",
    "telegram_values",
]

LOGGER = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"0-0:1\.0\.0\((\d{12}[SW]?)\)")
_QUANTITY = re.compile(
    r"^1-0:(\d{1,2}\.[78]\.[0-2])\((\d{1,9}(?:\.\d{1,6})?)\*(kWh|Wh|kW|W)\)\r?$", re.MULTILINE
)
_NAMES = {
    "1.7.0": "CURRENT_ELECTRICITY_USAGE",
    "2.7.0": "CURRENT_ELECTRICITY_DELIVERY",
    "21.7.0": "INSTANTANEOUS_ACTIVE_POWER_L1_POSITIVE",
    "41.7.0": "INSTANTANEOUS_ACTIVE_POWER_L2_POSITIVE",
    "61.7.0": "INSTANTANEOUS_ACTIVE_POWER_L3_POSITIVE",
    "22.7.0": "INSTANTANEOUS_ACTIVE_POWER_L1_NEGATIVE",
    "42.7.0": "INSTANTANEOUS_ACTIVE_POWER_L2_NEGATIVE",
    "62.7.0": "INSTANTANEOUS_ACTIVE_POWER_L3_NEGATIVE",
    "1.8.0": "ELECTRICITY_IMPORTED_TOTAL",
    "2.8.0": "ELECTRICITY_EXPORTED_TOTAL",
    "1.8.1": "ELECTRICITY_USED_TARIFF_1",
    "1.8.2": "ELECTRICITY_USED_TARIFF_2",
    "2.8.1": "ELECTRICITY_DELIVERED_TARIFF_1",
    "2.8.2": "ELECTRICITY_DELIVERED_TARIFF_2",
}
_MAX_TELEGRAM = 16 * 1024
_DSMR_ZONE = ZoneInfo("Europe/Amsterdam")  # the zone of a telegram's local time (as dsmr_parser reads it)
_POWER_SCALE = {"kw": Decimal(1000), "w": Decimal(1)}
_ENERGY_SCALE = {"kwh": Decimal(1), "wh": Decimal("0.001")}
_PHASES = (("21.7.0", "22.7.0"), ("41.7.0", "42.7.0"), ("61.7.0", "62.7.0"))


@dataclass(frozen=True)
class _Cosem:
    value: Any
    unit: str | None = None


def telegram_values(telegram: str) -> SimpleNamespace | None:
    """The power/energy lines and the time of a raw telegram, shaped like a ``dsmr_parser`` telegram (for
    :func:`~controller.devices.meters.dsmr_reading.telegram_to_reading`); ``None`` for a telegram without a
    time (DSMR 2.2) or an oversized one."""
    if len(telegram) > _MAX_TELEGRAM:
        return None
    found = {
        _NAMES[obis]: _Cosem(Decimal(value), unit)
        for obis, value, unit in _QUANTITY.findall(telegram)
        if obis in _NAMES
    }
    stamp = telegram_time(telegram)
    if stamp is None:
        return None
    return SimpleNamespace(**found, P1_MESSAGE_TIMESTAMP=_Cosem(stamp))


def telegram_time(telegram: str) -> datetime | None:
    """The meter's time (aware UTC) from a raw DSMR telegram's ``0-0:1.0.0`` line, if any.

    Read as ``dsmr_parser.value_types.timestamp`` reads it (``YYMMDDhhmmss`` local time in the Netherlands,
    years 69–99 in the 1900s; a trailing ``W`` picks the winter-time hour when the clock went back), without
    ``strptime``."""
    match = _TIMESTAMP.search(telegram)
    if match is None:
        return None
    text = match.group(1)
    year = int(text[0:2])
    try:
        local = datetime(
            year + (1900 if year >= 69 else 2000),
            int(text[2:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[8:10]),
            int(text[10:12]),
            tzinfo=_DSMR_ZONE,
            fold=1 if text[12:] == "W" else 0,
        )
    except ValueError:
        return None
    return local.astimezone(UTC)


def _scaled(found: dict[str, tuple[str, str]], obis: str, scales: dict[str, Decimal]) -> Decimal | None:
    line = found.get(obis)
    if line is None:
        return None
    value, unit = line
    scale = scales.get(unit.lower())
    if scale is None:
        name = _NAMES[obis]
        raise InvalidPayload(f"DSMR {name}: unexpected unit {unit!r}")
    return Decimal(value) * scale


def telegram_reading(telegram: str, at: datetime) -> MeterReading | None:
    """The reading of a raw telegram received at ``at``, exactly as
    ``telegram_to_reading(telegram_values(telegram), at)`` (``None`` where :func:`telegram_values` is), in
    a fraction of its time: this runs on every control tick."""
    if len(telegram) > _MAX_TELEGRAM:
        return None
    stamp = telegram_time(telegram)
    if stamp is None:
        return None
    found = {obis: (value, unit) for obis, value, unit in _QUANTITY.findall(telegram) if obis in _NAMES}
    usage = _scaled(found, "1.7.0", _POWER_SCALE)
    delivery = _scaled(found, "2.7.0", _POWER_SCALE)
    phases: list[float] = []
    for positive, negative in _PHASES:
        pos = _scaled(found, positive, _POWER_SCALE)
        neg = _scaled(found, negative, _POWER_SCALE)
        if pos is None and neg is None:
            continue
        phases.append(float((pos or Decimal(0)) - (neg or Decimal(0))))
    if usage is None:
        if not phases:
            raise InvalidPayload("telegram has no power (1-0:1.7.0 missing or unreadable)")
        grid_w = sum(phases)
    else:
        grid_w = float(usage - (delivery or Decimal(0)))
    total_import = _scaled(found, "1.8.0", _ENERGY_SCALE)
    total_export = _scaled(found, "2.8.0", _ENERGY_SCALE)
    return MeterReading(
        at=at,
        grid_w=grid_w,
        meter_time=stamp,
        phases_w=tuple(phases) or None,
        import_kwh=float(total_import)
        if total_import is not None
        else _sum(_scaled(found, "1.8.1", _ENERGY_SCALE), _scaled(found, "1.8.2", _ENERGY_SCALE)),
        export_kwh=float(total_export)
        if total_export is not None
        else _sum(_scaled(found, "2.8.1", _ENERGY_SCALE), _scaled(found, "2.8.2", _ENERGY_SCALE)),
    )


def _sum(*values: Decimal | None) -> float | None:
    present = [v for v in values if v is not None]
    return float(sum(present)) if present else None


class HomeWizardDevice(BaseModel):
    """``GET /api``: product and API version."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    product_type: str
    product_name: str | None = None
    serial: str
    firmware_version: str | None = None
    api_version: str


class HomeWizardV1Data(BaseModel):
    """``GET /api/v1/data`` (P1 fields; every field optional, older firmware sends explicit nulls)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    smr_version: int | None = None
    meter_model: str | None = None
    unique_id: str | None = None
    active_tariff: int | None = None
    active_power_w: float | None = None
    active_power_l1_w: float | None = None
    active_power_l2_w: float | None = None
    active_power_l3_w: float | None = None
    total_power_import_kwh: float | None = None
    total_power_import_t1_kwh: float | None = None
    total_power_import_t2_kwh: float | None = None
    total_power_import_t3_kwh: float | None = None
    total_power_import_t4_kwh: float | None = None
    total_power_export_kwh: float | None = None
    total_power_export_t1_kwh: float | None = None
    total_power_export_t2_kwh: float | None = None
    total_power_export_t3_kwh: float | None = None
    total_power_export_t4_kwh: float | None = None

    @staticmethod
    def _total(total: float | None, *parts: float | None) -> float | None:
        if total is not None:
            return total
        present = [p for p in parts if p is not None]
        return sum(present) if present else None

    def to_reading(self, at: datetime, meter_time: datetime | None = None) -> MeterReading:
        """The domain reading (grid + = import); :class:`InvalidPayload` without ``active_power_w``."""
        phases = [p for p in (self.active_power_l1_w, self.active_power_l2_w, self.active_power_l3_w)]
        known = [p for p in phases if p is not None]
        grid = self.active_power_w
        if grid is None:
            if not known:
                raise InvalidPayload("HomeWizard data has no active_power_w")
            grid = sum(known)
        return MeterReading(
            at=at,
            grid_w=float(grid),
            meter_time=meter_time,
            phases_w=tuple(float(p) for p in known) if known else None,
            import_kwh=self._total(
                self.total_power_import_kwh,
                self.total_power_import_t1_kwh,
                self.total_power_import_t2_kwh,
                self.total_power_import_t3_kwh,
                self.total_power_import_t4_kwh,
            ),
            export_kwh=self._total(
                self.total_power_export_kwh,
                self.total_power_export_t1_kwh,
                self.total_power_export_t2_kwh,
                self.total_power_export_t3_kwh,
                self.total_power_export_t4_kwh,
            ),
        )


class HomeWizardV1Meter:
    """A HomeWizard P1 meter over API v1 at ``endpoint`` (``"host"``, ``"host:port"`` or a resolver)."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        port: int = 80,
        timeout_s: float = 2.0,
        use_telegram: bool = True,
        client: LanClient | None = None,
    ) -> None:
        self._endpoint = as_resolver(endpoint, port)
        self._clock = clock
        self.timeout_s = timeout_s
        self.use_telegram = use_telegram
        self._client = client or LanClient()
        self._filter = NewDataFilter()

    def _get(self, path: str) -> LanResponse:
        host, port = self._endpoint.address()
        return self._client.get(
            host, port, path, timeout_s=self.timeout_s, what=f"HomeWizard {path}", endpoint=self._endpoint
        )

    def device(self) -> HomeWizardDevice:
        """``GET /api``."""
        try:
            return HomeWizardDevice.model_validate(json_body(self._get("/api"), "HomeWizard /api"))
        except ValidationError as err:
            raise InvalidPayload(f"HomeWizard /api: {err}") from err

    def data(self) -> HomeWizardV1Data:
        """``GET /api/v1/data``."""
        try:
            return HomeWizardV1Data.model_validate(json_body(self._get("/api/v1/data"), "HomeWizard data"))
        except ValidationError as err:
            raise InvalidPayload(f"HomeWizard /api/v1/data: {err}") from err

    def telegram(self) -> str:
        """``GET /api/v1/telegram`` (the raw telegram, text)."""
        return self._get("/api/v1/telegram").text

    def _meter_time(self) -> datetime | None:
        if not self.use_telegram:
            return None
        try:
            return telegram_time(self.telegram())
        except DeviceResponseError as err:
            if err.status == 404:
                LOGGER.info("HomeWizard has no /api/v1/telegram; telling new data by value changes")
                self.use_telegram = False
                return None
            raise

    def reading(self) -> MeterReading:
        """The current reading (new or not)."""
        data = self.data()
        return data.to_reading(self._clock.now(), self._meter_time())

    def read(self) -> MeterReading | None:
        """The reading when it is new data (meter time, else values, changed), else ``None``; one request
        per call when the telegram is usable."""
        if self.use_telegram:
            try:
                text = self._get("/api/v1/telegram").text
            except DeviceResponseError as err:
                if err.status != 404:
                    raise
                LOGGER.info("HomeWizard has no /api/v1/telegram; telling new data by value changes")
                self.use_telegram = False
            else:
                reading = telegram_reading(text, self._clock.now())
                if reading is not None:
                    return reading if self._filter.is_new(reading) else None
                LOGGER.info("HomeWizard telegram without a time; reading /api/v1/data instead")
                self.use_telegram = False
        reading = self.reading()
        return reading if self._filter.is_new(reading) else None

    def close(self) -> None:
        self._client.close()
