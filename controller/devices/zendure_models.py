"""Typed model of the zenSDK ``GET /properties/report`` payload, with units normalised at the edge.

Wire units: ``electricLevel`` %, ``socSet``/``minSoc`` per-mille, ``hyperTmp``/``maxTemp`` 0.1 K,
``BatVolt``/``totalVol`` 0.01 V, powers W. Normalised properties carry their unit in the name.
Unknown properties are kept (``extra="allow"``) but nothing here relies on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from controller.devices.errors import InvalidPayload, UnsupportedError
from controller.domain.events import BatteryReading

__all__ = [
    "AC_MODE_INPUT",
    "AC_MODE_OUTPUT",
    "MODELS",
    "PackData",
    "ReportProperties",
    "WriteReply",
    "ZendureModel",
    "ZendureReport",
    "model_for_product",
    "parse_report",
    "parse_write_reply",
]

AC_MODE_INPUT = 1
"""``acMode`` 1: AC input (charging from the grid)."""
AC_MODE_OUTPUT = 2
"""``acMode`` 2: AC output (discharging into the home)."""

_KELVIN_OFFSET_DECI = 2731
_REMAIN_OUT_TIME_INVALID = 59940


@dataclass(frozen=True)
class ZendureModel:
    """A product family with its static AC limits (used when the device reports none)."""

    name: str
    max_charge_w: int
    max_discharge_w: int


MODELS: dict[str, ZendureModel] = {
    key.lower(): model
    for key, model in {
        "solarFlow800": ZendureModel("SolarFlow 800", 1000, 800),
        "solarFlow800Plus": ZendureModel("SolarFlow 800 Plus", 1000, 800),
        "solarFlow800Pro": ZendureModel("SolarFlow 800 Pro", 1000, 800),
        "solarFlow800Pro2": ZendureModel("SolarFlow 800 Pro 2", 1000, 800),
        "solarFlow1600AC+": ZendureModel("SolarFlow 1600 AC+", 1600, 1600),
        "solarFlow2400AC": ZendureModel("SolarFlow 2400 AC", 2400, 2400),
        "solarFlow2400AC+": ZendureModel("SolarFlow 2400 AC+", 3200, 2400),
        "solarFlow2400Pro": ZendureModel("SolarFlow 2400 Pro", 3200, 2400),
        "solarFlow4000MixAC+": ZendureModel("SolarFlow 4000 Mix AC+", 3200, 2400),
    }.items()
}
"""Static limits per ``product`` string (lower-cased key), after Zendure-HA's per-model defaults."""


def model_for_product(product: str) -> ZendureModel:
    """The model for a ``product`` string; :class:`UnsupportedError` for products without a local API."""
    model = MODELS.get(product.strip().lower())
    if model is None:
        raise UnsupportedError(f"unsupported Zendure product {product!r} (no zenSDK local API known)")
    return model


class ReportProperties(BaseModel):
    """The ``properties`` object. Fields are optional: the set differs by model and firmware."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    electric_level: int | None = Field(default=None, alias="electricLevel")
    pack_input_power: int = Field(default=0, alias="packInputPower")
    output_pack_power: int = Field(default=0, alias="outputPackPower")
    output_home_power: int = Field(default=0, alias="outputHomePower")
    grid_input_power: int = Field(default=0, alias="gridInputPower")
    solar_input_power: int = Field(default=0, alias="solarInputPower")
    pack_state: int | None = Field(default=None, alias="packState")
    soc_limit: int = Field(default=0, alias="socLimit")
    soc_status: int = Field(default=0, alias="socStatus")
    hyper_tmp: int | None = Field(default=None, alias="hyperTmp")
    bat_volt: int | None = Field(default=None, alias="BatVolt")
    remain_out_time: int | None = Field(default=None, alias="remainOutTime")
    ac_mode: int | None = Field(default=None, alias="acMode")
    input_limit: int | None = Field(default=None, alias="inputLimit")
    output_limit: int | None = Field(default=None, alias="outputLimit")
    soc_set: int | None = Field(default=None, alias="socSet")
    min_soc: int | None = Field(default=None, alias="minSoc")
    smart_mode: int | None = Field(default=None, alias="smartMode")
    inverse_max_power: int | None = Field(default=None, alias="inverseMaxPower")
    charge_max_limit: int | None = Field(default=None, alias="chargeMaxLimit")
    grid_reverse: int | None = Field(default=None, alias="gridReverse")
    fault_level: int | None = Field(default=None, alias="faultLevel")
    is_error: int | None = Field(default=None, alias="is_error")
    pass_: int | None = Field(default=None, alias="pass")
    ts: int | None = Field(default=None, alias="ts")


class PackData(BaseModel):
    """One battery pack in ``packData``."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    sn: str | None = None
    soc_level: int | None = Field(default=None, alias="socLevel")
    state: int | None = None
    power: int | None = None
    max_temp: int | None = Field(default=None, alias="maxTemp")
    total_vol: int | None = Field(default=None, alias="totalVol")

    @property
    def max_temp_c(self) -> float | None:
        """Hottest cell, °C (wire: 0.1 K)."""
        return None if self.max_temp is None else (self.max_temp - _KELVIN_OFFSET_DECI) / 10

    @property
    def voltage_v(self) -> float | None:
        """Pack voltage, V (wire: 0.01 V)."""
        return None if self.total_vol is None else self.total_vol / 100


class ZendureReport(BaseModel):
    """``GET /properties/report``: ``timestamp, messageId, sn, version, product, properties, packData``."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    timestamp: int | None = None
    message_id: int | None = Field(default=None, alias="messageId")
    sn: str
    version: int | None = None
    product: str
    properties: ReportProperties
    pack_data: tuple[PackData, ...] = Field(default=(), alias="packData")

    # -- normalised views -------------------------------------------------------------------------------
    @property
    def model(self) -> ZendureModel | None:
        """The known model for ``product``, or ``None`` when unknown."""
        return MODELS.get(self.product.strip().lower())

    @property
    def soc_pct(self) -> float | None:
        """State of charge, % (``electricLevel``)."""
        level = self.properties.electric_level
        return None if level is None else float(level)

    @property
    def battery_w(self) -> float:
        """AC power at the grid side: + discharge into the home, − charging from AC."""
        return float(self.properties.output_home_power - self.properties.grid_input_power)

    @property
    def pack_w(self) -> float:
        """DC pack power: + discharging the pack, − charging it."""
        return float(self.properties.pack_input_power - self.properties.output_pack_power)

    @property
    def max_soc_pct(self) -> float | None:
        """Charge limit ``socSet`` in % (wire: per-mille)."""
        value = self.properties.soc_set
        return None if value is None else value / 10

    @property
    def min_soc_pct(self) -> float | None:
        """Discharge floor ``minSoc`` in % (wire: per-mille)."""
        value = self.properties.min_soc
        return None if value is None else value / 10

    @property
    def temperature_c(self) -> float | None:
        """Enclosure temperature, °C (wire ``hyperTmp``: 0.1 K); else the hottest pack."""
        if self.properties.hyper_tmp is not None:
            return (self.properties.hyper_tmp - _KELVIN_OFFSET_DECI) / 10
        temps = [t for t in (p.max_temp_c for p in self.pack_data) if t is not None]
        return max(temps) if temps else None

    @property
    def voltage_v(self) -> float | None:
        """Battery voltage, V (wire ``BatVolt``: 0.01 V)."""
        value = self.properties.bat_volt
        return None if value is None else value / 100

    @property
    def remaining_minutes(self) -> int | None:
        """``remainOutTime`` in minutes; ``None`` for the invalid marker 59940."""
        value = self.properties.remain_out_time
        return None if value is None or value >= _REMAIN_OUT_TIME_INVALID else value

    @property
    def max_discharge_w(self) -> int | None:
        """Output limit now: live ``inverseMaxPower`` wins (0 = blocked), else the model's static limit."""
        live = self.properties.inverse_max_power
        if live is not None:
            return max(0, live)
        return self.model.max_discharge_w if self.model else None

    @property
    def max_charge_w(self) -> int | None:
        """AC charge limit now: live ``chargeMaxLimit`` wins (0 = blocked), else the model's static limit."""
        live = self.properties.charge_max_limit
        if live is not None:
            return max(0, live)
        return self.model.max_charge_w if self.model else None

    @property
    def ac_mode_valid(self) -> bool:
        """``acMode`` is 1 or 2 (firmware has reported 127/251/255 when unhealthy)."""
        return self.properties.ac_mode in (AC_MODE_INPUT, AC_MODE_OUTPUT)

    def fault(self) -> str | None:
        """A short reason why the device is not controllable now, or ``None``."""
        props = self.properties
        if props.ac_mode is not None and not self.ac_mode_valid:
            return f"acMode reported as {props.ac_mode}"
        if props.is_error:
            return f"is_error={props.is_error}"
        if props.soc_status == 1:
            return "SoC calibration running"
        if self.soc_pct is None:
            return "no electricLevel in report"
        return None

    def to_reading(self, at: datetime) -> BatteryReading:
        """The domain event for this report, received at ``at``."""
        soc = self.soc_pct
        return BatteryReading(
            at=at,
            soc_pct=min(100.0, max(0.0, soc if soc is not None else 0.0)),
            battery_w=self.battery_w,
            max_discharge_w=self.max_discharge_w,
            max_charge_w=self.max_charge_w,
            temperature_c=self.temperature_c,
            soc_limit=self.properties.soc_limit,
            ac_mode=self.properties.ac_mode,
            fault=self.fault(),
        )


class WriteReply(BaseModel):
    """The reply to ``POST /properties/write``; accepted only when ``success`` is true and ``code`` is 200."""

    model_config = ConfigDict(frozen=True, extra="allow", populate_by_name=True)

    timestamp: int | None = None
    message_id: int | None = Field(default=None, alias="messageId")
    success: bool | int | None = None
    code: int | None = None
    sn: str | None = None
    error: str | None = None
    msg: str | None = None

    def accepted(self, sn: str) -> bool:
        """True for the documented success reply for device ``sn``."""
        return self.success is True and self.code == 200 and (self.sn is None or self.sn == sn)


def parse_report(text: str | bytes) -> ZendureReport:
    """Parse a report body (whatever the Content-Type); :class:`InvalidPayload` when it is not a report."""
    try:
        return ZendureReport.model_validate_json(text)
    except ValidationError as err:
        raise InvalidPayload(f"not a zenSDK report: {err.error_count()} problem(s): {err}") from err


def parse_write_reply(text: str | bytes) -> WriteReply:
    """Parse a write reply; :class:`InvalidPayload` when it is not JSON."""
    try:
        return WriteReply.model_validate_json(text)
    except ValidationError as err:
        raise InvalidPayload(f"not a zenSDK write reply: {err}") from err
