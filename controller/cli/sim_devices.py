"""``zsm sim-devices``: run the simulated Zendure battery, HomeWizard meter and DSMR stream on loopback.

The plant (household from ``--trace`` or the synthetic one, battery, lagging meter) runs in real time; each
simulator serves it in its real protocol. Prints what listens where and runs until interrupted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sim-devices", help="run simulated devices on loopback (manual tests, demo)"
    )
    parser.add_argument("--trace", type=Path, metavar="FILE", help="household trace CSV (default: synthetic)")
    parser.add_argument(
        "--lag", type=float, default=20.0, metavar="S", help="meter lag in seconds (default 20)"
    )
    parser.add_argument(
        "--zendure-port", type=int, default=0, metavar="P", help="zenSDK device port (0 = off)"
    )
    parser.add_argument(
        "--homewizard-port", type=int, default=0, metavar="P", help="HomeWizard v1 port (0 = off)"
    )
    parser.add_argument(
        "--dsmr-port", type=int, default=0, metavar="P", help="DSMR TCP stream port (0 = off)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument(
        "--homewizard-v2-port", type=int, default=0, metavar="P", help="HomeWizard v2 HTTPS port (0 = off)"
    )
    parser.add_argument(
        "--dsmr-profile", choices=("nl5", "nl4", "nl22", "be5"), default="nl5", help="DSMR telegram profile"
    )
    parser.add_argument(
        "--mqtt-broker", default=None, metavar="HOST:PORT", help="run a legacy Zendure device on this broker"
    )
    parser.add_argument(
        "--mqtt-model",
        choices=("hyper2000", "hub1200", "hub2000", "aio2400", "ace1500"),
        default="hyper2000",
        help="legacy model for --mqtt-broker (default hyper2000)",
    )
    parser.add_argument("--soc", type=float, default=50.0, help="initial state of charge, %% (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the synthetic household")
    parser.add_argument(
        "--duration", type=float, default=0.0, metavar="S", help="stop after S seconds (0 = never)"
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from controller.clock import SystemClock
    from controller.simulation.devices.dsmr_server import DsmrServer
    from controller.simulation.devices.home import SimulatedHome
    from controller.simulation.devices.homewizard_server import HomeWizardV1Server, MeterView
    from controller.simulation.devices.zendure_server import ZendureServer
    from controller.simulation.plant import (
        BatteryParams,
        BatteryPlant,
        MeterParams,
        MeterPlant,
        load_trace,
        synthetic_household,
    )

    ports = (
        args.zendure_port,
        args.homewizard_port,
        args.dsmr_port,
        args.homewizard_v2_port,
        args.mqtt_broker,
    )
    if not any(ports):
        print(
            "zsm: nothing to run: give at least one of --zendure-port, --homewizard-port, --dsmr-port,"
            " --mqtt-broker",
            file=sys.stderr,
        )
        return 2
    clock = SystemClock()
    household = (
        load_trace(args.trace) if args.trace else synthetic_household(seed=args.seed, duration_s=24 * 3600)
    )
    period = 10.0 if args.dsmr_profile in ("nl4", "nl22") else 1.0
    params = BatteryParams(initial_soc_pct=args.soc)
    if args.mqtt_broker:
        from controller.simulation.devices.zendure_mqtt_device import plant_params_for

        params = plant_params_for(args.mqtt_model, initial_soc_pct=args.soc)
    home = SimulatedHome(
        household,
        BatteryPlant(params),
        MeterPlant(MeterParams(lag_s=args.lag, period_s=period)),
        clock,
        phase_split=(1.0,) if args.dsmr_profile == "nl4" else (0.5, 0.3, 0.2),
    )
    view = MeterView(home.meter_port, clock, profile=args.dsmr_profile)
    servers: list[Any] = []
    lines: list[str] = [f"household {household.name} ({household.duration_s} s), meter lag {args.lag:g} s"]
    try:
        if args.zendure_port:
            zendure = ZendureServer(home.battery_port, clock, host=args.host, port=args.zendure_port)
            zendure.start()
            servers.append(zendure)
            lines.append(
                f"zendure      {zendure.url}/properties/report  (sn {zendure.sn}, {zendure.product})"
            )
        if args.homewizard_port:
            hw = HomeWizardV1Server(
                home.meter_port, clock, host=args.host, port=args.homewizard_port, view=view
            )
            hw.start()
            servers.append(hw)
            lines.append(f"homewizard   {hw.url}/api/v1/data  (API v1, serial {hw.serial})")
        if args.homewizard_v2_port:
            from controller.simulation.devices.homewizard_v2_server import HomeWizardV2Server

            hw2 = HomeWizardV2Server(
                home.meter_port, clock, host=args.host, port=args.homewizard_v2_port, view=view
            )
            hw2.start()
            servers.append(hw2)
            lines.append(
                f"homewizard2  {hw2.url}/api/measurement  (API v2, CA {hw2.ca_file}; Ctrl-\\ = button)"
            )
            if hasattr(signal, "SIGQUIT"):
                signal.signal(signal.SIGQUIT, lambda _s, _f: hw2.press_button())
        if args.dsmr_port:
            dsmr = DsmrServer(
                home.meter_port, clock, host=args.host, port=args.dsmr_port, profile=args.dsmr_profile
            )
            dsmr.start(realtime=True)
            servers.append(dsmr)
            lines.append(f"dsmr         {dsmr.url}  ({args.dsmr_profile}, one telegram every {period:g} s)")
        if args.mqtt_broker:
            from controller.devices.zendure_mqtt_connection import parse_broker
            from controller.simulation.devices.zendure_mqtt_device import LegacyMqttDevice

            legacy = LegacyMqttDevice(
                home.battery_port, clock, parse_broker(args.mqtt_broker), args.mqtt_model
            )
            legacy.start()
            servers.append(legacy)
            lines.append(
                f"{args.mqtt_model:<12} mqtt://{args.mqtt_broker}  (product key {legacy.topics.product_key},"
                f" device key {legacy.topics.device_key}; reports on {legacy.topics.report})"
            )
    except (OSError, ValueError) as err:
        print(f"zsm: cannot start: {err}", file=sys.stderr)
        for server in reversed(servers):
            server.stop()
        return 1
    print("\n".join(lines), flush=True)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    start = clock.monotonic()
    try:
        while not stop.is_set():
            home.advance_to(clock.now())
            if args.duration and clock.monotonic() - start >= args.duration:
                break
            stop.wait(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        for server in reversed(servers):
            server.stop()
    print("stopped", flush=True)
    return 0
