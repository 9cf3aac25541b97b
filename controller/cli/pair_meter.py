"""``zsm pair-meter``: get a HomeWizard API v2 token (press the button on the P1 meter when asked)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("pair-meter", help="pair with a HomeWizard P1 meter (API v2 token)")
    parser.add_argument("--host", required=True, help="IP address of the P1 meter (zsm discover finds it)")
    parser.add_argument("--port", type=int, default=443, help="HTTPS port (default 443)")
    parser.add_argument("--serial", help="meter serial (12 hex) to check the certificate name")
    parser.add_argument("--ca-file", type=Path, help="PEM of the HomeWizard CA")
    parser.add_argument("--name", default="zsm", help="user name to register (local/<name>)")
    parser.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the button (default 60)"
    )
    parser.add_argument(
        "--write-config", metavar="FILE", type=Path, help="store host, serial and token in FILE"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from controller.cli.toml_edit import update_toml_file
    from controller.clock import SystemClock
    from controller.devices.errors import DeviceError
    from controller.devices.meters.homewizard_v2 import ButtonNotPressed, request_token

    clock = SystemClock()
    deadline = clock.monotonic() + args.timeout
    asked = False
    while True:
        try:
            token = request_token(
                f"{args.host}:{args.port}", args.name, ca_file=args.ca_file, serial=args.serial, timeout_s=5.0
            )
            break
        except ButtonNotPressed:
            if not asked:
                print("press the button on the P1 meter now ...", flush=True)
                asked = True
        except DeviceError as err:
            print(f"zsm: pairing failed: {err}", file=sys.stderr)
            return 1
        if clock.monotonic() >= deadline:
            print("zsm: the button was not pressed in time", file=sys.stderr)
            return 1
        clock.sleep(2.0)
    print(f"paired: token {token}")
    if args.write_config:
        values: dict[str, str | int | bool] = {
            "kind": "homewizard_v2",
            "host": args.host,
            "port": args.port,
            "token": token,
        }
        if args.serial:
            values["serial"] = args.serial
        if args.ca_file:
            values["ca_file"] = str(args.ca_file)
        update_toml_file(args.write_config, "meter", values)
        print(f"wrote [meter] to {args.write_config}")
    return 0
