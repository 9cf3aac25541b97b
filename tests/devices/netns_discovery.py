"""Run inside a private network namespace (see test_discovery.py): advertise simulated devices over mDNS on
the namespace's loopback, browse with :func:`controller.devices.discovery.discover`, print the result as JSON.

Never run this on the host's network: the test starts it with ``ip netns exec``.
"""

from __future__ import annotations

import json
import socket
import sys

from zeroconf import ServiceInfo, Zeroconf

from controller.clock import ManualClock, SystemClock
from controller.devices.discovery import discover
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_server import HomeWizardV1Server
from controller.simulation.devices.zendure_server import ZendureServer
from controller.simulation.plant import BatteryPlant, MeterPlant
from tests.devices.conftest import START, flat_household


def main() -> int:
    clock = ManualClock(START)
    home = SimulatedHome(flat_household(), BatteryPlant(), MeterPlant(), clock)
    clock.advance(2)
    zendure = ZendureServer(home.battery_port, clock, sn="EOD1NLN9P010318", product="solarFlow800Pro2")
    meter = HomeWizardV1Server(home.meter_port, clock, serial="3c39e7aabbcc")
    zendure.start()
    meter.start()
    loopback = [socket.inet_aton("127.0.0.1")]
    adverts = [
        ServiceInfo(
            "_http._tcp.local.",
            "Zendure-solarFlow800Pro2-EOD1NLN9P010318._http._tcp.local.",
            addresses=loopback,
            port=zendure.port,
            server="zendure-solarFlow800Pro2-EOD1NLN9P010318.local.",
        ),
        ServiceInfo(
            "_http._tcp.local.",
            "Printer-1._http._tcp.local.",
            addresses=loopback,
            port=zendure.port,
            server="printer-1.local.",
        ),
        ServiceInfo(
            "_hwenergy._tcp.local.",
            "p1meter-aabbcc._hwenergy._tcp.local.",
            addresses=loopback,
            port=meter.port,
            properties={
                "api_enabled": "1",
                "path": "/api/v1",
                "serial": "3c39e7aabbcc",
                "product_type": "HWE-P1",
            },
            server="p1meter-aabbcc.local.",
        ),
    ]
    advertiser = Zeroconf(interfaces=["127.0.0.1"])
    try:
        for info in adverts:
            advertiser.register_service(info, allow_name_change=False, cooperating_responders=True)
        timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
        devices = []
        for _ in range(3):  # mDNS answers can miss a short browse window on a busy machine: browse again
            devices = discover(clock=SystemClock(), timeout_s=timeout, interfaces=["127.0.0.1"])
            if len(devices) >= 2:
                break
        ports = (zendure.port, meter.port)
    finally:
        advertiser.close()
        zendure.stop()
        meter.stop()
    print(json.dumps([d.__dict__ | {"port_matches": d.port in ports} for d in devices]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
