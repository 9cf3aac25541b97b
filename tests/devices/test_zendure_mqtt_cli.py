"""``zsm sim-devices --mqtt-broker`` runs a legacy device that ``zsm discover-mqtt`` finds and writes into a
config the daemon's factory builds the MQTT adapter from (a private mosquitto: only this device reports)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.cli import main
from controller.clock import ManualClock
from controller.devices.factory import build_battery_port
from controller.devices.zendure_mqtt_client import ZendureMqttBattery
from controller.settings import load_settings
from controller.simulation.devices.mosquitto import PrivateMosquitto, mosquitto_binary

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[PrivateMosquitto]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    private = PrivateMosquitto(tmp_path / "broker")
    private.start()
    try:
        yield private
    finally:
        private.stop()


@pytest.mark.slow  # a CLI subprocess on a busy machine
def test_simulated_hub_is_discovered_and_configured(
    broker: PrivateMosquitto, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    address = f"127.0.0.1:{broker.port}"
    sim = subprocess.Popen(
        [sys.executable, "-m", "controller", "sim-devices", "--mqtt-broker", address,
         "--mqtt-model", "hub1200", "--duration", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        assert sim.stdout is not None
        banner = [sim.stdout.readline() for _ in range(2)]
        assert "hub1200" in banner[1] and "product key 73bkTV" in banner[1], banner
        config = tmp_path / "zsm.toml"
        config.write_text('[meter]\nkind = "homewizard_v1"\nhost = "127.0.0.1"\n')
        code = main(
            [
                "discover-mqtt",
                "--broker",
                address,
                "--seconds",
                "30",
                "--count",
                "1",
                "--write-config",
                str(config),
            ]
        )
        assert code == 0
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    table = capsys.readouterr().out
    assert "73bkTV" in table and "hub1200" in table and "50 %" in table
    settings = load_settings(config)
    assert settings.battery.kind == "mqtt"
    assert (settings.battery.mqtt.port, settings.battery.mqtt.product_key) == (broker.port, "73bkTV")
    adapter = build_battery_port(settings, ManualClock())
    assert isinstance(adapter, ZendureMqttBattery)
    assert adapter.model.name == "hub1200" and adapter.command_interval_s == 30.0


def test_incomplete_mqtt_config_is_a_clear_error(tmp_path: Path) -> None:
    config = tmp_path / "zsm.toml"
    config.write_text('[battery]\nkind = "mqtt"\n[battery.mqtt]\nproduct_key = "73bkTV"\n')
    with pytest.raises(ValueError, match="device_key"):
        build_battery_port(load_settings(config), ManualClock())
    config.write_text(
        '[battery]\nkind = "mqtt"\n[battery.mqtt]\nproduct_key = "R3mn8U"\ndevice_key = "abc"\n'
    )
    with pytest.raises(ValueError, match="set battery.mqtt.model"):
        build_battery_port(load_settings(config), ManualClock())
