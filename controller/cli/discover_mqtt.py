"""``zsm discover-mqtt``: list Zendure devices reporting on an MQTT broker; write one into the config."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "discover-mqtt", help="find legacy Zendure devices (Hub, Hyper, ACE, AIO) reporting on an MQTT broker"
    )
    parser.add_argument(
        "--broker", default="127.0.0.1:1883", metavar="HOST:PORT", help="default 127.0.0.1:1883"
    )
    parser.add_argument("--username", default=None, help="broker user name")
    parser.add_argument("--password", default=None, help="broker password")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long to listen (default 15)")
    parser.add_argument("--count", type=int, default=None, help="stop once this many devices reported")
    parser.add_argument(
        "--write-config", metavar="FILE", type=Path, help="write the first legacy device into FILE"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from controller.cli.toml_edit import update_toml_file
    from controller.devices.errors import DeviceError
    from controller.devices.zendure_mqtt_connection import parse_broker
    from controller.devices.zendure_mqtt_discovery import discover_mqtt_devices

    try:
        broker = replace(parse_broker(args.broker), username=args.username, password=args.password)
    except ValueError as err:
        print(f"zsm: {err}", file=sys.stderr)
        return 2
    print(f"listening on {broker} for {args.seconds:g} s ...")
    try:
        devices = discover_mqtt_devices(broker, args.seconds, enough=args.count)
    except DeviceError as err:
        print(f"zsm: {err}", file=sys.stderr)
        return 1
    if not devices:
        print("no Zendure device reported (is it pointed at this broker? see README, legacy devices)")
        return 1
    rows = [("PRODUCT KEY", "DEVICE KEY", "MODEL", "PRODUCT", "SOC", "REPORTS")] + [
        (d.product_key, d.device_key, d.model or "(zenSDK/unknown)", d.product or "-",
         "-" if d.soc_pct is None else f"{d.soc_pct} %", str(d.reports))
        for d in devices
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    legacy = [d for d in devices if d.model]
    if args.write_config and legacy:
        first = legacy[0]
        update_toml_file(args.write_config, "battery", {"kind": "mqtt"})
        values: dict[str, str | int] = {
            "host": broker.host, "port": broker.port, "product_key": first.product_key,
            "device_key": first.device_key, "model": first.model or "",
        }  # fmt: skip
        update_toml_file(args.write_config, "battery.mqtt", values)
        print(f"wrote [battery] kind = mqtt and [battery.mqtt] {values} to {args.write_config}")
    return 0
