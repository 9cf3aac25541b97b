"""Device-neutral :class:`Command` → zenSDK ``POST /properties/write`` body. Pure: no I/O.

Every command is a full property set with ``sn`` (a bare single-property write can be silently ignored by
the firmware), every value is clamped into its documented range, and the body never exceeds the device's
512-byte receive limit.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from controller.devices.errors import PayloadTooLarge
from controller.devices.zendure_models import AC_MODE_INPUT, AC_MODE_OUTPUT
from controller.domain.commands import Command, CommandKind

__all__ = [
    "MAX_BODY_BYTES",
    "StandbyStyle",
    "WRITABLE_RANGES",
    "encode_body",
    "property_payload",
]

MAX_BODY_BYTES = 512
"""The zenSDK local API receive limit."""

WRITABLE_RANGES: dict[str, tuple[int, int]] = {
    "acMode": (1, 2),
    "inputLimit": (0, 10_000),
    "outputLimit": (0, 10_000),
    "smartMode": (0, 1),
    "socSet": (700, 1000),
    "minSoc": (0, 500),
    "gridReverse": (0, 2),
    "gridOffMode": (0, 2),
}
"""Documented range of each property zsm may write (wire units)."""


class StandbyStyle(StrEnum):
    """How standby is written.

    ``hold`` keeps ``smartMode: 1`` (no flash write; evcc's "hold"); ``persist`` is the documented off
    command with ``smartMode: 0`` (Zendure-HA ``power_off``; stored in flash, for long standby only).
    """

    HOLD = "hold"
    PERSIST = "persist"


def _clamp(name: str, value: int, upper: int | None = None) -> int:
    low, high = WRITABLE_RANGES[name]
    if upper is not None:
        high = min(high, max(low, upper))
    return max(low, min(high, int(value)))


def property_payload(
    command: Command,
    sn: str,
    *,
    max_charge_w: int | None = None,
    max_discharge_w: int | None = None,
    standby: StandbyStyle = StandbyStyle.HOLD,
    standby_ac_mode: int = AC_MODE_OUTPUT,
    request_id: int | None = None,
) -> dict[str, Any]:
    """The write body for ``command`` on device ``sn``.

    - charge P: ``smartMode 1, acMode 1, outputLimit 0, inputLimit P``
    - discharge P: ``smartMode 1, acMode 2, outputLimit P, inputLimit 0``
    - standby: ``acMode`` (``standby_ac_mode``, default 2 as documented), both limits 0, ``smartMode`` 1
      (``hold``) or 0 (``persist``).

    P is clamped to ``[0, max_*_w]`` (the live device limits; 0 = blocked). Raises :class:`PayloadTooLarge`
    when the encoded body would exceed :data:`MAX_BODY_BYTES`, and :class:`ValueError` for an empty ``sn``.
    """
    if not sn or not sn.strip():
        raise ValueError("a zenSDK write needs the device serial number (sn)")
    if command.kind is CommandKind.CHARGE:
        props = {
            "smartMode": 1,
            "acMode": AC_MODE_INPUT,
            "outputLimit": 0,
            "inputLimit": _clamp("inputLimit", command.power_w, max_charge_w),
        }
    elif command.kind is CommandKind.DISCHARGE:
        props = {
            "smartMode": 1,
            "acMode": AC_MODE_OUTPUT,
            "outputLimit": _clamp("outputLimit", command.power_w, max_discharge_w),
            "inputLimit": 0,
        }
    else:
        props = {
            "smartMode": 0 if standby is StandbyStyle.PERSIST else 1,
            "acMode": _clamp("acMode", standby_ac_mode),
            "outputLimit": 0,
            "inputLimit": 0,
        }
    body: dict[str, Any] = {"sn": sn, "properties": props}
    if request_id is not None:
        body["id"] = int(request_id)
    encode_body(body)  # size check
    return body


def encode_body(body: dict[str, Any]) -> bytes:
    """Compact JSON bytes of a write body; :class:`PayloadTooLarge` over the 512-byte limit."""
    data = json.dumps(body, separators=(",", ":")).encode()
    if len(data) > MAX_BODY_BYTES:
        raise PayloadTooLarge(f"write body is {len(data)} bytes, the device accepts at most {MAX_BODY_BYTES}")
    return data
