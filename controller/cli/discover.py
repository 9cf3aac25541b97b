"""``zsm discover``: find Zendure batteries, HomeWizard and Shelly meters on the LAN (mDNS) and confirm them.

``--write-config`` writes the first battery and the first *grid meter*: a HomeWizard P1 meter (``HWE-P1``) or
a Shelly energy meter; a HomeWizard kWh meter only with ``--allow-kwh-meter``, an Energy Socket never.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["config_values", "format_table", "register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("discover", help="find Zendure batteries and HomeWizard meters on the LAN")
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds to browse (default 4)")
    parser.add_argument(
        "--write-config", metavar="FILE", type=Path, help="write the found addresses into FILE"
    )
    parser.add_argument(
        "--no-confirm", action="store_true", help="list advertised services without querying them"
    )
    parser.add_argument(
        "--allow-kwh-meter",
        action="store_true",
        help="a HomeWizard kWh meter (HWE-KWH1/3, SDM230/630) may be written as the grid meter",
    )
    parser.set_defaults(func=_run)


def format_table(devices: Sequence[Any]) -> str:
    """A plain-text table of discovered devices."""
    header = ("KIND", "HOST", "PORT", "SERIAL", "PRODUCT", "NOTE")
    rows = [header] + [(d.kind, d.host, str(d.port), d.serial, d.product, d.note) for d in devices]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def config_values(
    devices: Sequence[Any], *, allow_kwh_meter: bool = False
) -> dict[str, dict[str, str | int]]:
    """Config sections to write: the first battery and the first grid meter found (P1 meters first)."""
    from controller.devices.discovery import P1_METER, is_grid_meter

    sections: dict[str, dict[str, str | int]] = {}
    meters = [d for d in devices if is_grid_meter(d.kind, d.product, allow_kwh_meter=allow_kwh_meter)]
    meters.sort(key=lambda d: d.product.upper() != P1_METER)  # stable: a P1 meter beats a kWh meter
    for device in devices:
        if device.kind == "zendure" and "battery" not in sections:
            sections["battery"] = {"host": device.host, "port": device.port, "serial": device.serial}
    if meters:
        meter = meters[0]
        if meter.kind == "shelly":
            gen1 = meter.product.upper().startswith("SHEM")
            sections["meter"] = {
                "kind": "shelly",
                "host": meter.host,
                "port": meter.port,
                "shelly_variant": "gen1"
                if gen1
                else ("pro3em" if meter.product.upper() == "PRO3EM" else "em1"),
            }
        else:
            sections["meter"] = {
                "kind": meter.kind,
                "host": meter.host,
                "port": meter.port,
                "serial": meter.serial,
            }
    return sections


def _run(args: argparse.Namespace) -> int:
    from controller.cli.toml_edit import update_toml_file
    from controller.clock import SystemClock
    from controller.devices.discovery import discover

    print(f"browsing mDNS for {args.timeout:g} s ...")
    devices = discover(clock=SystemClock(), timeout_s=args.timeout, confirm_candidates=not args.no_confirm)
    if not devices:
        print("no Zendure battery or HomeWizard meter found (mDNS may be blocked: configure the IP address)")
        return 1
    print(format_table(devices))
    if args.write_config:
        sections = config_values(devices, allow_kwh_meter=args.allow_kwh_meter)
        if "meter" not in sections:
            print("no grid meter among them (a P1 meter; --allow-kwh-meter for a kWh meter)")
        for section, values in sections.items():
            update_toml_file(args.write_config, section, values)
            print(f"wrote [{section}] {values} to {args.write_config}")
    return 0
