"""``zsm discover``: find Zendure batteries and HomeWizard P1 meters on the LAN (mDNS) and confirm them."""

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
    parser.set_defaults(func=_run)


def format_table(devices: Sequence[Any]) -> str:
    """A plain-text table of discovered devices."""
    header = ("KIND", "HOST", "PORT", "SERIAL", "PRODUCT", "NOTE")
    rows = [header] + [(d.kind, d.host, str(d.port), d.serial, d.product, d.note) for d in devices]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def config_values(devices: Sequence[Any]) -> dict[str, dict[str, str | int]]:
    """Config sections to write: the first battery and the first meter found."""
    sections: dict[str, dict[str, str | int]] = {}
    for device in devices:
        if device.kind == "zendure" and "battery" not in sections:
            sections["battery"] = {"host": device.host, "port": device.port, "serial": device.serial}
        elif device.kind.startswith("homewizard") and "meter" not in sections:
            sections["meter"] = {
                "kind": device.kind,
                "host": device.host,
                "port": device.port,
                "serial": device.serial,
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
        for section, values in config_values(devices).items():
            update_toml_file(args.write_config, section, values)
            print(f"wrote [{section}] {values} to {args.write_config}")
    return 0
