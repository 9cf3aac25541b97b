"""``zsm sim-devices``, ``zsm pair-meter`` and the config writing of ``zsm discover``."""

from __future__ import annotations

import socket
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import requests

from controller.cli import main
from controller.cli.discover import config_values, format_table
from controller.cli.toml_edit import set_toml_values
from controller.clock import ManualClock
from controller.devices.discovery import DiscoveredDevice
from controller.devices.meters.dsmr import DsmrMeter, TcpSource
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.homewizard_v2_server import HomeWizardV2Server

REPO = Path(__file__).resolve().parents[2]
Start = Callable[[object], object]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sim_devices_serves_all_protocols_on_loopback(clock: ManualClock) -> None:
    zendure, homewizard, dsmr = free_port(), free_port(), free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "controller",
            "sim-devices",
            "--lag",
            "2",
            "--zendure-port",
            str(zendure),
            "--homewizard-port",
            str(homewizard),
            "--dsmr-port",
            str(dsmr),
            "--duration",
            "20",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        assert any(f"127.0.0.1:{zendure}" in line for line in lines), lines
        assert any(f"127.0.0.1:{homewizard}" in line for line in lines), lines
        assert any(f"tcp://127.0.0.1:{dsmr}" in line for line in lines), lines
        report = requests.get(f"http://127.0.0.1:{zendure}/properties/report", timeout=5).json()
        assert report["product"] == "solarFlow800Pro"
        assert (
            "active_power_w" in requests.get(f"http://127.0.0.1:{homewizard}/api/v1/data", timeout=5).json()
        )
        meter = DsmrMeter(TcpSource(f"127.0.0.1:{dsmr}"), clock=clock, wait_s=3.0)
        reading = None
        for _ in range(3):
            reading = reading or meter.read()
        assert reading is not None and reading.meter_time is not None
        meter.close()
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "stopped" in out


def test_sim_devices_needs_a_port(capsys: object) -> None:
    assert main(["sim-devices"]) == 2


def test_pair_meter_writes_the_token(
    tmp_path: Path, home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server = started(HomeWizardV2Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV2Server)
    server.press_button()
    config = tmp_path / "zsm.toml"
    config.write_text('site_id = "home"\n\n[meter]\nkind = "homewizard_v1"\npoll_interval_s = 1.0\n')
    code = main(
        [
            "pair-meter",
            "--host",
            "127.0.0.1",
            "--port",
            str(server.port),
            "--serial",
            server.serial,
            "--ca-file",
            str(server.ca_file),
            "--timeout",
            "5",
            "--write-config",
            str(config),
        ]
    )
    assert code == 0
    data = tomllib.loads(config.read_text())
    assert data["meter"]["kind"] == "homewizard_v2" and data["meter"]["poll_interval_s"] == 1.0
    assert data["meter"]["token"] in server.tokens.values()


def test_pair_meter_times_out_without_the_button(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server = started(HomeWizardV2Server(home.meter_port, clock))
    assert isinstance(server, HomeWizardV2Server)
    assert (
        main(
            [
                "pair-meter",
                "--host",
                "127.0.0.1",
                "--port",
                str(server.port),
                "--ca-file",
                str(server.ca_file),
                "--timeout",
                "0",
            ]
        )
        == 1
    )


def test_discover_table_and_config_values(tmp_path: Path) -> None:
    devices = [
        DiscoveredDevice("homewizard_v1", "192.0.2.7", 80, "3c39e7aabbcc", "HWE-P1", "p1meter-aabbcc"),
        DiscoveredDevice("zendure", "192.0.2.9", 80, "EOD1NLN9P010318", "solarFlow800Pro2", "Zendure-x"),
    ]
    table = format_table(devices)
    assert table.splitlines()[0].split() == ["KIND", "HOST", "PORT", "SERIAL", "PRODUCT", "NOTE"]
    assert "EOD1NLN9P010318" in table
    sections = config_values(devices)
    assert sections["battery"] == {"host": "192.0.2.9", "port": 80, "serial": "EOD1NLN9P010318"}
    assert sections["meter"]["kind"] == "homewizard_v1"


def test_toml_edit_keeps_other_content() -> None:
    text = (
        '# my config\nsite_id = "home"\n\n[battery]\nhost = "auto"  # old\nread_interval_s = 5.0\n\n'
        "[limits]\nmin_soc_pct = 12.0\n"
    )
    updated = set_toml_values(text, "battery", {"host": "192.0.2.9", "port": 80})
    data = tomllib.loads(updated)
    assert data["battery"] == {"host": "192.0.2.9", "read_interval_s": 5.0, "port": 80}
    assert data["limits"] == {"min_soc_pct": 12.0}
    assert updated.startswith("# my config")
    added = tomllib.loads(set_toml_values(updated, "meter", {"kind": "homewizard_v2", "push": True}))
    assert added["meter"] == {"kind": "homewizard_v2", "push": True}
