"""``zsm demo``: server, simulated battery and meter, and the daemon, all on loopback."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run the whole system on loopback with simulated devices")
    parser.add_argument(
        "--dir", type=Path, default=None, help="keep databases and config here (default: temp)"
    )
    parser.add_argument("--speed", type=float, default=1.0, help="run time N times faster (default 1)")
    parser.add_argument(
        "--trace", type=Path, default=None, help="household trace CSV instead of the synthetic one"
    )
    parser.add_argument("--port", type=int, default=None, help="web server port (default: a free one)")
    parser.add_argument("--lag", type=float, default=20.0, help="P1 meter lag in seconds (default 20)")
    parser.add_argument("--ticks", type=int, default=None, help="stop after this many control ticks")
    parser.add_argument(
        "--battery",
        choices=("sf800pro", "hyper2000", "hub1200", "hub2000", "aio2400", "ace1500"),
        default="sf800pro",
        help="simulated battery: sf800pro (zenSDK HTTP) or a legacy model on MQTT (default sf800pro)",
    )
    parser.add_argument(
        "--mqtt-broker",
        default=None,
        metavar="HOST:PORT",
        help="broker for a legacy model (default 127.0.0.1:1883, else a private mosquitto)",
    )
    parser.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    import logging

    from controller.demo import DemoOptions, DemoSystem

    directory = args.dir or Path(tempfile.mkdtemp(prefix="zsm-demo-"))
    system = DemoSystem(
        DemoOptions(
            directory=directory,
            speed=args.speed,
            trace=args.trace,
            server_port=args.port,
            lag_s=args.lag,
            battery=args.battery,
            mqtt_broker=args.mqtt_broker,
        )
    )
    logging.getLogger().setLevel(logging.WARNING if not args.verbose else logging.DEBUG)
    try:
        info = system.start()
    except Exception as err:  # noqa: BLE001 - tell the person what failed, then stop what started
        system.stop()
        print(f"zsm demo: could not start: {err}", file=sys.stderr)
        return 1
    print(f"zsm demo running (time x{args.speed:g}); Ctrl-C stops it.")
    print(f"  web page:  {info.url}/   login: {info.username} / {info.password}")
    print(f"  data in:   {directory}")
    interactive = sys.stdout.isatty()

    def show(line: str) -> None:
        if interactive:
            sys.stdout.write("\r" + line[:160].ljust(160))
        else:
            sys.stdout.write(line + "\n")
        sys.stdout.flush()

    try:
        with system.status_printer(show):
            code = system.run_daemon(max_ticks=args.ticks)
    except KeyboardInterrupt:
        code = 0
    finally:
        system.stop()
    print()
    print("stopped. The event log stays for inspection:")
    print(f'  zsm audit {info.daemon_database} --at "<local time>"')
    print(f"  zsm replay {info.daemon_database}")
    return code
