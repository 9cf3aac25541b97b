"""``zsm doctor`` over MQTT: the demo's Hyper 2000 is read; a wrong device key is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller import doctor
from controller.demo import DemoOptions, DemoSystem
from controller.doctor import Status, run_checks
from controller.simulation.devices.mosquitto import broker_listening, mosquitto_binary


@pytest.mark.slow  # the demo's server and devices start
def test_doctor_reads_a_legacy_device_and_names_a_silent_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not broker_listening("127.0.0.1", 1883) and mosquitto_binary() is None:
        pytest.skip("no MQTT broker at 127.0.0.1:1883 and mosquitto is not installed")
    system = DemoSystem(DemoOptions(directory=tmp_path / "demo", speed=1.0, battery="hyper2000"))
    info = system.start()
    try:
        battery = {c.name: c for c in run_checks(str(info.config_path), system.clock)}["battery"]
        assert battery.status is Status.OK, battery
        assert "SolarFlow Hyper 2000" in battery.detail and "SoC 50 %" in battery.detail

        monkeypatch.setattr(doctor, "MQTT_WAIT_S", 1.0)
        assert system.legacy is not None
        broken = tmp_path / "broken.toml"
        broken.write_text(info.config_path.read_text().replace(system.legacy.topics.device_key, "nobody42"))
        battery = {c.name: c for c in run_checks(str(broken), system.clock)}["battery"]
        assert battery.status is Status.FAIL and "no report from nobody42" in battery.detail
    finally:
        system.stop()
