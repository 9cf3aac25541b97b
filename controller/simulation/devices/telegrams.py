"""Render DSMR P1 telegrams (CRC-16/ARC) from meter samples, in four profiles.

- ``nl5``: DSMR 5.0 (``1-3:0.2.8(50)``), CRC, Amsterdam time.
- ``nl4``: DSMR 4.2 (``(42)``), CRC, whole amps.
- ``nl22``: DSMR 2.2: no version line, no timestamp, no CRC (bare ``!``).
- ``be5``: Belgian e-MUCS (Fluvius): ``0-0:96.1.4``, ``1-0:1.4.0``, ``1-0:1.6.0``, gas on ``0-1:24.2.3``.

The energy registers integrate the sample's import/export counters into the tariff active at the meter's
local time (NL: tariff 2 on weekdays 07–23 h, else 1; BE: tariff 1 by day).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from controller.simulation.devices.ports import MeterSample

__all__ = ["PROFILES", "Profile", "TelegramRenderer", "crc16_arc", "dsmr_timestamp"]

Profile = Literal["nl5", "nl4", "nl22", "be5"]
PROFILES: tuple[Profile, ...] = ("nl5", "nl4", "nl22", "be5")
FACTORY_DATE = "000101010000W"


def crc16_arc(data: bytes) -> int:
    """CRC-16/ARC (reflected poly 0xA001, init 0), as DSMR 4+ uses over ``/`` … ``!``."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def dsmr_timestamp(moment: datetime, zone: ZoneInfo) -> str:
    """``YYMMDDhhmmss`` + ``S`` (summer) / ``W`` (winter) in the meter's local time."""
    local = moment.astimezone(zone)
    dst = local.dst()
    flag = "S" if dst is not None and dst != timedelta(0) else "W"
    return local.strftime("%y%m%d%H%M%S") + flag


@dataclass
class _Registers:
    import_t1: float = 1234.567
    import_t2: float = 2345.678
    export_t1: float = 456.789
    export_t2: float = 567.891
    last_import: float | None = None
    last_export: float | None = None


class TelegramRenderer:
    """Stateful renderer (energy registers per tariff) for one simulated meter."""

    def __init__(
        self,
        profile: Profile = "nl5",
        *,
        clock_offset_s: float = 0.0,
        factory_date: bool = False,
        equipment_id: str = "4530303433303036303437363838353134",
    ) -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown DSMR profile {profile!r}; use one of {PROFILES}")
        self.profile: Profile = profile
        self.clock_offset_s = clock_offset_s
        self.factory_date = factory_date
        self.equipment_id = equipment_id
        self.zone = ZoneInfo("Europe/Brussels" if profile == "be5" else "Europe/Amsterdam")
        self._reg = _Registers()

    def _tariff(self, local: datetime) -> int:
        day = local.weekday() < 5 and 7 <= local.hour < 23
        if self.profile == "be5":
            return 1 if day else 2
        return 2 if day else 1

    def _integrate(self, sample: MeterSample, tariff: int) -> None:
        reg = self._reg
        if reg.last_import is not None and reg.last_export is not None:
            d_imp = max(0.0, sample.import_kwh - reg.last_import)
            d_exp = max(0.0, sample.export_kwh - reg.last_export)
            if tariff == 1:
                reg.import_t1 += d_imp
                reg.export_t1 += d_exp
            else:
                reg.import_t2 += d_imp
                reg.export_t2 += d_exp
        reg.last_import = sample.import_kwh
        reg.last_export = sample.export_kwh

    def registers(self) -> tuple[float, float, float, float]:
        """Energy registers after the last render: import T1, import T2, export T1, export T2 (kWh)."""
        reg = self._reg
        return reg.import_t1, reg.import_t2, reg.export_t1, reg.export_t2

    def tariff_at(self, moment: datetime) -> int:
        """The active tariff at ``moment`` (meter clock)."""
        return self._tariff(moment.astimezone(self.zone))

    def meter_time(self, sample: MeterSample) -> datetime:
        """The meter's (possibly wrong) clock for this sample."""
        return sample.at + timedelta(seconds=self.clock_offset_s)

    def render(self, sample: MeterSample) -> str:
        """One complete telegram (``/`` … ``!CRC\\r\\n``) as text."""
        moment = self.meter_time(sample)
        local = moment.astimezone(self.zone)
        tariff = self._tariff(local)
        self._integrate(sample, tariff)
        stamp = FACTORY_DATE if self.factory_date else dsmr_timestamp(moment, self.zone)
        reg = self._reg
        grid_kw = sample.grid_w / 1000.0
        kwh = "{:010.3f}*kWh".format
        p = self.profile
        lines: list[str] = []
        if p == "nl5":
            lines += ["/ISk5\\2MT382-1000", "", "1-3:0.2.8(50)", f"0-0:1.0.0({stamp})"]
        elif p == "nl4":
            lines += ["/KFM5KAIFA-METER", "", "1-3:0.2.8(42)", f"0-0:1.0.0({stamp})"]
        elif p == "nl22":
            lines += ["/ISk5\\2MT382-1004", ""]
        else:
            lines += ["/FLU5\\253769484_A", "", "0-0:96.1.4(50217)"]
        lines.append(f"0-0:96.1.1({self.equipment_id})")
        if p == "be5":
            lines.append(f"0-0:1.0.0({stamp})")
        if p == "nl22":
            kwh = "{:09.3f}*kWh".format
        lines += [
            f"1-0:1.8.1({kwh(reg.import_t1)})",
            f"1-0:1.8.2({kwh(reg.import_t2)})",
            f"1-0:2.8.1({kwh(reg.export_t1)})",
            f"1-0:2.8.2({kwh(reg.export_t2)})",
            f"0-0:96.14.0({tariff:04d})",
        ]
        if p == "be5":
            peak_kw = max(0.0, grid_kw)
            lines += [
                f"1-0:1.4.0({max(0.0, grid_kw):06.3f}*kW)",
                f"1-0:1.6.0({stamp})({peak_kw:06.3f}*kW)",
            ]
        if p == "nl22":
            lines += [f"1-0:1.7.0({max(0.0, grid_kw):07.2f}*kW)", f"1-0:2.7.0({max(0.0, -grid_kw):07.2f}*kW)"]
            lines += ["0-0:17.0.0(0999.00*kW)", "0-0:96.3.10(1)", "0-0:96.13.1()", "0-0:96.13.0()", "!"]
            return "\r\n".join(lines) + "\r\n"
        lines += [f"1-0:1.7.0({max(0.0, grid_kw):06.3f}*kW)", f"1-0:2.7.0({max(0.0, -grid_kw):06.3f}*kW)"]
        if p in ("nl5", "nl4"):
            lines += ["0-0:96.7.21(00004)", "0-0:96.7.9(00002)", "1-0:99.97.0(0)(0-0:96.7.19)"]
            lines += ["1-0:32.32.0(00000)", "1-0:32.36.0(00000)", "0-0:96.13.0()"]
        phases = sample.phases_w
        names = ((21, 22, 32, 31), (41, 42, 52, 51), (61, 62, 72, 71))
        for (pos, neg, volt, amp), watts in zip(names, phases, strict=False):
            lines.append(f"1-0:{volt}.7.0(230.0*V)" if p == "be5" else f"1-0:{volt}.7.0(0230.0*V)")
            amps = abs(watts) / 230.0
            if p == "be5":
                lines.append(f"1-0:{amp}.7.0({amps:06.2f}*A)")
            else:
                lines.append(f"1-0:{amp}.7.0({round(amps):03d}*A)")
            lines.append(f"1-0:{pos}.7.0({max(0.0, watts) / 1000:06.3f}*kW)")
            lines.append(f"1-0:{neg}.7.0({max(0.0, -watts) / 1000:06.3f}*kW)")
        gas_time = moment - timedelta(seconds=moment.timestamp() % 300)
        gas_stamp = FACTORY_DATE if self.factory_date else dsmr_timestamp(gas_time, self.zone)
        if p == "be5":
            lines += ["0-0:96.3.10(1)", "0-0:17.0.0(999.9*kW)", "1-0:31.4.0(999*A)", "0-0:96.13.0()"]
            lines += ["0-1:24.1.0(003)", "0-1:96.1.1(37464C4F32313139303333373333)", "0-1:24.4.0(1)"]
            lines.append(f"0-1:24.2.3({gas_stamp})(00112.384*m3)")
        else:
            lines += ["0-1:24.1.0(003)", "0-1:96.1.0(4730303339303031373030343630313137)"]
            lines.append(f"0-1:24.2.1({gas_stamp})(00981.443*m3)")
        body = "\r\n".join(lines) + "\r\n!"
        crc = crc16_arc(body.encode("ascii"))
        return f"{body}{crc:04X}\r\n"
