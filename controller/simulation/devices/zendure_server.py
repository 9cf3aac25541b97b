"""A simulated zenSDK device (SolarFlow 800 Pro class) on loopback: protocol state, quirks and faults.

Follows ../shared/protocols/zendure-zensdk.md §9: ``GET /properties/report`` (``text/html``), ``POST
/properties/write`` with the exact error replies, the 512-byte limit, ``/rpc`` stubs, an "API disabled"
mode; writable settings with no validation (like the real firmware) and a record of every write; SoC
cut-offs and ``socLimit``; a flash copy with a ``flash_writes`` counter and an ``acMode`` relay counter;
and the documented fault modes. Power physics (dead time, ramp, start threshold, SoC) is the plant's, behind
:class:`BatteryPort`; this server only decides the set-point the firmware would follow.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from controller.clock import Clock
from controller.simulation.devices.http_base import LoopbackHTTPServer, Reply
from controller.simulation.devices.ports import BatteryPort, BatteryState

__all__ = ["WriteRecord", "ZendureDeviceState", "ZendureFaults", "ZendureServer"]

LOGGER = logging.getLogger(__name__)

MAX_BODY = 512
WRITABLE = (
    "acMode",
    "inputLimit",
    "outputLimit",
    "smartMode",
    "socSet",
    "minSoc",
    "gridReverse",
    "gridOffMode",
)
"""Keys a write may set. ``lampSwitch`` is read-only upstream (zenSDK property table): a write to it is
ignored."""
SETTINGS = (*WRITABLE, "lampSwitch")
FULL_COMMAND = ("smartMode", "acMode", "inputLimit", "outputLimit")
API_DISABLED = {"code": 400, "success": False, "data": {}, "msg": "An unexpected error occurred"}
SLOW_RAMP_STEP_W = 6.5
SLOW_RAMP_PERIOD_S = 5.0


@dataclass
class ZendureFaults:
    """Switchable fault injections (each motivated by a public report, see the protocol notes §9)."""

    ignore_bare_writes: bool = False
    """After SoC reached socSet, single-property writes are acknowledged but ignored until a full command."""
    ac_mode_revert_s: float | None = None
    """An acMode change reverts to the previous mode after this many seconds."""
    slow_ramp_after_standby_s: float | None = None
    """After this long in standby, output walks up 6.5 W per 5 s whatever the target (0 W applies at once)."""
    reboot_every_s: float | None = None
    """Reboot every N s: unreachable for ``reboot_down_s``, then settings restored from flash."""
    reboot_down_s: float = 30.0
    read_delay_s: float = 0.0
    """Wall-clock delay before answering a GET (to exercise client timeouts)."""
    ac_mode_255: bool = False
    pass_2: bool = False
    soc_limit_misreport: bool = False
    tlv_failure: bool = False
    """Writes answer HTTP 200 with ``success: false, code: 400``."""
    api_disabled: bool = False
    refuse_concurrent: bool = False
    """A request arriving while another is served gets its connection dropped."""
    stale_reports_after_write: int = 0
    """The next N reports after a write still show the settings from before it (a report lagging a write)."""


@dataclass(frozen=True)
class WriteRecord:
    """One write as received (for asserting what a client sent)."""

    at: datetime
    body: dict[str, Any]
    status: int


@dataclass
class ZendureDeviceState:
    """The writable settings (RAM) of the device."""

    acMode: int = 2  # noqa: N815
    inputLimit: int = 0  # noqa: N815
    outputLimit: int = 0  # noqa: N815
    smartMode: int = 0  # noqa: N815
    socSet: int = 1000  # noqa: N815
    minSoc: int = 100  # noqa: N815
    gridReverse: int = 2  # noqa: N815
    gridOffMode: int = 2  # noqa: N815
    lampSwitch: int = 1  # noqa: N815

    def as_dict(self) -> dict[str, int]:
        return {key: int(getattr(self, key)) for key in SETTINGS}


@dataclass
class _Counters:
    flash_writes: int = 0
    relay_switches: int = 0
    reboots: int = 0
    writes: list[WriteRecord] = field(default_factory=list)


class ZendureServer:
    """A zenSDK device on ``host:port`` driven by ``battery`` and ``clock``.

    ``start()``/``stop()``; ``url``/``port``; ``tick()`` re-evaluates the firmware (call it as time passes;
    every request does it too). Counters: ``flash_writes``, ``relay_switches``, ``writes``.
    """

    def __init__(
        self,
        battery: BatteryPort,
        clock: Clock,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        sn: str = "SIMZSM00000001",
        product: str = "solarFlow800Pro",
        version: int = 3,
        inverse_max_power_w: int = 800,
        charge_max_limit_w: int = 1000,
        content_type: str = "text/html",
        faults: ZendureFaults | None = None,
        state: ZendureDeviceState | None = None,
    ) -> None:
        self.battery = battery
        self.clock = clock
        self.sn = sn
        self.product = product
        self.version = version
        self.inverse_max_power_w = inverse_max_power_w
        self.charge_max_limit_w = charge_max_limit_w
        self.content_type = content_type
        self.faults = faults or ZendureFaults()
        self.settings = state or ZendureDeviceState()
        self.flash = ZendureDeviceState(**self.settings.as_dict())
        self.counters = _Counters()
        self._lock = threading.Lock()  # the device serves one request at a time
        self._message_id = 0
        self._started_at = clock.monotonic()
        self._standby_since: float | None = clock.monotonic()
        self._slow_ramp_w: float | None = None
        self._slow_ramp_last: float = 0.0
        self._revert: tuple[float, int] | None = None
        self._ignoring_bare = False
        self._stale: tuple[ZendureDeviceState, int] | None = None
        self._last_reboot_epoch = 0
        self._http = LoopbackHTTPServer(self._handle, host=host, port=port, name="zendure")
        hook = getattr(battery, "add_step_hook", None)
        if callable(hook):
            hook(self.tick)  # the firmware runs every plant step, not only on requests

    # -- lifecycle ----------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return self._http.url

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def flash_writes(self) -> int:
        return self.counters.flash_writes

    @property
    def relay_switches(self) -> int:
        return self.counters.relay_switches

    @property
    def writes(self) -> list[WriteRecord]:
        return list(self.counters.writes)

    def start(self) -> None:
        self.tick()
        self._http.start()

    def stop(self) -> None:
        self._http.stop()

    # -- firmware -----------------------------------------------------------------------------------------
    def _elapsed(self) -> float:
        return self.clock.monotonic() - self._started_at

    def rebooting(self) -> bool:
        """True while a periodic reboot makes the device unreachable."""
        every = self.faults.reboot_every_s
        if not every:
            return False
        elapsed = self._elapsed()
        epoch = int(elapsed // every)
        if epoch >= 1 and epoch != self._last_reboot_epoch:
            self._last_reboot_epoch = epoch
            self.counters.reboots += 1
            self.settings = ZendureDeviceState(**self.flash.as_dict())  # RAM settings lost
            LOGGER.info("simulated zendure rebooting (restored settings from flash)")
        return epoch >= 1 and (elapsed - epoch * every) < self.faults.reboot_down_s

    def _set_ac_mode(self, value: int) -> None:
        if value != self.settings.acMode:
            self.counters.relay_switches += 1
        self.settings.acMode = value

    def target_w(self, state: BatteryState) -> float:
        """The set-point the firmware follows now (+ discharge, − charge), SoC cut-offs applied."""
        s = self.settings
        if s.acMode == 2 and s.outputLimit != 0 and state.soc_pct > s.minSoc / 10:
            # A negative outputLimit is accepted by the real device and produces high output (zenSDK#47).
            limit = self.inverse_max_power_w if s.outputLimit < 0 else s.outputLimit
            return float(max(0, min(limit, self.inverse_max_power_w)))
        if s.acMode == 1 and s.inputLimit != 0 and state.soc_pct < s.socSet / 10:
            limit = self.charge_max_limit_w if s.inputLimit < 0 else s.inputLimit
            return -float(max(0, min(limit, self.charge_max_limit_w)))
        return 0.0

    def soc_limit(self, soc_pct: float) -> int:
        if soc_pct >= self.settings.socSet / 10:
            return 1
        if soc_pct <= self.settings.minSoc / 10:
            return 2
        return 0

    def tick(self, at: datetime | None = None) -> BatteryState:
        """Re-evaluate the firmware at ``at`` (default: the clock's now) and drive the battery."""
        now = self.clock.now()
        mono = self.clock.monotonic()
        if at is not None and at < now:
            mono -= (now - at).total_seconds()
            now = at
        self.rebooting()
        if self._revert is not None and mono >= self._revert[0]:
            LOGGER.info("simulated zendure: acMode reverted to %d", self._revert[1])
            self._set_ac_mode(self._revert[1])
            self._revert = None
        state = self.battery.state(now)
        discharge_cap = 0 if state.soc_pct <= self.settings.minSoc / 10 else self.inverse_max_power_w
        charge_cap = 0 if state.soc_pct >= self.settings.socSet / 10 else self.charge_max_limit_w
        self.battery.set_limits(discharge_cap, charge_cap)
        if self.faults.ignore_bare_writes and state.soc_pct >= self.settings.socSet / 10:
            self._ignoring_bare = True
        target = self.target_w(state)
        target = self._shape_slow_ramp(target, mono)
        self.battery.set_target(target, now)
        return state

    def _shape_slow_ramp(self, target: float, mono: float) -> float:
        if target == 0:
            if self._standby_since is None:
                self._standby_since = mono
            self._slow_ramp_w = None
            return 0.0
        limit = self.faults.slow_ramp_after_standby_s
        if self._standby_since is not None:
            standby_for = mono - self._standby_since
            self._standby_since = None
            if limit is not None and standby_for >= limit:
                self._slow_ramp_w = 0.0
                self._slow_ramp_last = mono
        if self._slow_ramp_w is None:
            return target
        steps = int((mono - self._slow_ramp_last) // SLOW_RAMP_PERIOD_S)
        if steps:
            self._slow_ramp_w += steps * SLOW_RAMP_STEP_W
            self._slow_ramp_last += steps * SLOW_RAMP_PERIOD_S
        if self._slow_ramp_w >= abs(target):
            self._slow_ramp_w = None
            return target
        return self._slow_ramp_w if target > 0 else -self._slow_ramp_w

    # -- wire ---------------------------------------------------------------------------------------------
    def _next_message_id(self) -> int:
        self._message_id = self._message_id % 255 + 1  # repeats, like the real counter
        return self._message_id

    def report(self) -> dict[str, Any]:
        """The ``/properties/report`` payload now."""
        state = self.tick()
        s = self.settings
        if self._stale is not None:
            s, left = self._stale
            self._stale = (s, left - 1) if left > 1 else None
        ac = round(state.ac_w)
        pack = round(state.pack_w)
        soc = max(0, min(100, round(state.soc_pct)))
        soc_limit = self.soc_limit(state.soc_pct)
        if self.faults.soc_limit_misreport:
            soc_limit = (soc_limit + 1) % 3
        pack_state = 2 if pack > 0 else 1 if pack < 0 else 0
        props: dict[str, Any] = {
            "heatState": 0,
            "packInputPower": max(0, pack),
            "outputPackPower": max(0, -pack),
            "outputHomePower": max(0, ac),
            "remainOutTime": 59940,
            "packState": pack_state,
            "electricLevel": soc,
            "gridInputPower": max(0, -ac),
            "solarInputPower": 0,
            "pass": 2 if self.faults.pass_2 else 0,
            "reverseState": 0,
            "socStatus": 0,
            "hyperTmp": 3031,
            "gridOffPower": 0,
            "dataReady": 1,
            "gridState": 1,
            "BatVolt": 4812,
            "socLimit": soc_limit,
            "faultLevel": 0,
            "writeRsp": 0,
            "acMode": 255 if self.faults.ac_mode_255 else s.acMode,
            "inputLimit": s.inputLimit,
            "outputLimit": s.outputLimit,
            "socSet": s.socSet,
            "minSoc": s.minSoc,
            "gridStandard": 0,
            "gridReverse": s.gridReverse,
            "inverseMaxPower": self.inverse_max_power_w,
            "lampSwitch": s.lampSwitch,
            "gridOffMode": s.gridOffMode,
            "IOTState": 2,
            "ts": int(self.clock.now().timestamp()),
            "tsZone": 14,
            "smartMode": s.smartMode,
            "chargeMaxLimit": self.charge_max_limit_w,
            "packNum": 1,
            "rssi": -60,
            "is_error": 0,
        }
        return {
            "timestamp": int(self.clock.now().timestamp()),
            "messageId": self._next_message_id(),
            "sn": self.sn,
            "version": self.version,
            "product": self.product,
            "properties": props,
            "packData": [
                {
                    "sn": self.sn.replace("ZSM", "BAT", 1),
                    "packType": 500,
                    "socLevel": soc,
                    "state": pack_state,
                    "power": abs(pack),
                    "maxTemp": 3001,
                    "totalVol": 4810,
                    "batcur": 0,
                    "maxVol": 321,
                    "minVol": 321,
                    "softVersion": 4355,
                }
            ],
        }

    def _json(self, status: int, body: dict[str, Any], ctype: str | None = None) -> Reply:
        return status, ctype or self.content_type, json.dumps(body, separators=(",", ":")).encode()

    def _ok_reply(self) -> Reply:
        return self._json(
            200,
            {
                "timestamp": int(self.clock.now().timestamp()),
                "messageId": self._next_message_id(),
                "success": True,
                "code": 200,
                "sn": self.sn,
            },
        )

    def _handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if not self._lock.acquire(blocking=not self.faults.refuse_concurrent):
            return None
        try:
            return self._dispatch(method, target, headers, body)
        finally:
            self._lock.release()

    def _dispatch(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Reply:
        if self.rebooting():
            return None
        if self.faults.read_delay_s > 0 and method == "GET":
            threading.Event().wait(self.faults.read_delay_s)
        if self.faults.api_disabled:
            return self._json(400, API_DISABLED)
        parts = urlsplit(target)
        if method == "GET" and parts.path == "/properties/report":
            return self._json(200, self.report())
        if method == "POST" and parts.path == "/properties/write":
            return self._write(body, int(headers.get("content-length") or len(body)))
        if parts.path == "/rpc":
            return self._rpc(method, parts.query, body)
        return self._json(404, {"code": 404, "error": "Not found"})

    def _rpc(self, method: str, query: str, body: bytes) -> Reply:
        name = parse_qs(query).get("method", [""])[0]
        if method == "GET" and name == "HA.Mqtt.GetStatus":
            return self._json(200, {"connected": False})
        if method == "GET" and name == "HA.Mqtt.GetConfig":
            return self._json(200, {"result": True, "data": {"enable": False, "server": ""}})
        if method == "POST":
            try:
                request = json.loads(body)
            except ValueError:
                return self._json(400, {"code": 400, "error": "Failed to parse JSON"})
            if not isinstance(request, dict) or request.get("sn") != self.sn:
                return self._json(401, {"code": 401, "error": "SN does not match"})
            return self._ok_reply()
        return self._json(400, {"code": 400, "error": "Invalid method"})

    def _write(self, body: bytes, length: int) -> Reply:
        now = self.clock.now()
        if length > MAX_BODY or len(body) > MAX_BODY:
            self.counters.writes.append(WriteRecord(now, {"_raw_length": len(body)}, 413))
            return self._json(413, {"code": 413, "error": "Buffer overflow risk"})
        try:
            request = json.loads(body)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError:
            self.counters.writes.append(WriteRecord(now, {"_raw": body.decode(errors="replace")}, 400))
            return self._json(400, {"code": 400, "error": "Failed to parse JSON"})
        if request.get("sn") != self.sn:
            self.counters.writes.append(WriteRecord(now, request, 401))
            return self._json(401, {"code": 401, "error": "SN does not match"})
        self.counters.writes.append(WriteRecord(now, request, 200))
        if self.faults.tlv_failure:
            return self._json(
                200, {"timestamp": int(now.timestamp()), "success": False, "code": 400, "sn": self.sn}
            )
        props = request.get("properties")
        if isinstance(props, dict):
            self._apply(props)
        return self._ok_reply()

    def _apply(self, props: dict[str, Any]) -> None:
        self.tick()
        full = all(key in props for key in FULL_COMMAND)
        if self._ignoring_bare:
            if not full:
                LOGGER.info("simulated zendure ignores a bare write %s (ZHA#1505)", props)
                return
            self._ignoring_bare = False
        old_ac = self.settings.acMode
        if self.faults.stale_reports_after_write > 0:
            before = ZendureDeviceState(**self.settings.as_dict())
            self._stale = (before, self.faults.stale_reports_after_write)
        for key in WRITABLE:
            if key in props and isinstance(props[key], int | float) and not isinstance(props[key], bool):
                if key == "acMode":
                    self._set_ac_mode(int(props[key]))
                else:
                    setattr(self.settings, key, int(props[key]))
        if self.settings.acMode != old_ac and self.faults.ac_mode_revert_s is not None:
            self._revert = (self.clock.monotonic() + self.faults.ac_mode_revert_s, old_ac)
        if self.settings.smartMode == 0:
            self.flash = ZendureDeviceState(**self.settings.as_dict())
            self.counters.flash_writes += 1
        self.tick()
