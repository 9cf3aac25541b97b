"""``battery.mqtt.tls``: the adapter reaches a device through a TLS-only mosquitto (Hyper FW 2.1.47 moved the
local broker to 8883) and verifies the broker against the configured CA; an unknown CA is refused."""

from __future__ import annotations

import ipaddress
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.devices.errors import DeviceUnreachable
from controller.devices.zendure_mqtt_client import ZendureMqttBattery
from controller.devices.zendure_mqtt_connection import BrokerAddress
from controller.devices.zendure_mqtt_protocol import MODELS
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.mosquitto import PrivateMosquitto, broker_listening, mosquitto_binary
from controller.simulation.devices.zendure_mqtt_device import LegacyMqttDevice, plant_params_for
from controller.simulation.plant import BatteryPlant, MeterParams, MeterPlant
from tests.devices.conftest import flat_household


def _pki(directory: Path, name: str) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 (SAN IP) signed by it: (ca, cert, key) PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    loopback = x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"zsm test CA {name}")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
        .add_extension(loopback, critical=False)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    paths = (directory / f"{name}-ca.pem", directory / f"{name}-cert.pem", directory / f"{name}-key.pem")
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return paths


@pytest.fixture
def tls_broker(tmp_path: Path) -> Iterator[tuple[PrivateMosquitto, Path]]:
    if mosquitto_binary() is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    ca, cert, key = _pki(tmp_path, "broker")
    broker = PrivateMosquitto(tmp_path / "broker", extra_conf=f"certfile {cert}\nkeyfile {key}\n")
    broker.start()
    try:
        yield broker, ca
    finally:
        broker.stop()


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_tls_broker_with_the_configured_ca(tls_broker: tuple[PrivateMosquitto, Path], tmp_path: Path) -> None:
    broker, ca = tls_broker
    assert broker_listening("127.0.0.1", broker.port)
    clock = ManualClock()
    address = BrokerAddress("127.0.0.1", broker.port, tls=True, ca_file=ca)
    home = SimulatedHome(
        flat_household(), BatteryPlant(plant_params_for("hyper2000")), MeterPlant(MeterParams()), clock
    )
    key = uuid.uuid4().hex[:8]
    device = LegacyMqttDevice(home.battery_port, clock, address, "hyper2000", device_key=key)
    good = ZendureMqttBattery(
        address, product_key="gDa3tb", device_key=key, model=MODELS["hyper2000"], clock=clock
    )
    other_ca, _, _ = _pki(tmp_path, "other")
    wrong = ZendureMqttBattery(
        BrokerAddress("127.0.0.1", broker.port, tls=True, ca_file=other_ca),
        product_key="gDa3tb", device_key=key, model=MODELS["hyper2000"], clock=clock, first_report_wait_s=0.1,
    )  # fmt: skip
    plaintext = ZendureMqttBattery(
        BrokerAddress("127.0.0.1", broker.port), product_key="gDa3tb", device_key=key,
        model=MODELS["hyper2000"], clock=clock,
    )  # fmt: skip
    device.start(background=False)
    good.start()
    try:
        assert _wait(lambda: device.connected and good.connected), "TLS with the right CA connects"
        wrong.start()
        plaintext.start()
        device.step()
        assert _wait(lambda: good.state.reports > 0)
        assert good.read().soc_pct == 50
        assert not wrong.connected and not plaintext.connected  # an unknown CA and plain MQTT get nowhere
        with pytest.raises(DeviceUnreachable, match="no report"):
            wrong.read()
    finally:
        for client in (good, wrong, plaintext):
            client.close()
        device.stop()
