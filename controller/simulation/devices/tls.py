"""A throw-away certificate authority for the simulated HomeWizard v2 meter (generated at run time).

Like HomeWizard's real "Appliance Access CA", the CA is an X.509 **v1** certificate (no extensions), so a
client that verifies with strict X.509 checks (Python 3.13's default) fails here as it would on a real meter.
``cryptography`` only builds v3 certificates: the CA's to-be-signed part is built without extensions, its
version field is removed (v1 is the DER default) and it is signed again with the CA key.
The device certificate names ``appliance/p1dongle/<serial>`` in its common name (no SAN), like the real
HomeWizard certificates, so clients must check the name with ``hostname_checks_common_name``.
Needs the ``cryptography`` package (imported lazily).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

__all__ = ["SimulatedPki", "make_pki", "v1_certificate"]

_V3_VERSION = bytes.fromhex("a003020102")  # [0] EXPLICIT INTEGER 2
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")  # AlgorithmIdentifier ecdsa-with-SHA256


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _der(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _der_length(len(body)) + body


def _sequence_body(der: bytes) -> bytes:
    if der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    if der[1] < 0x80:
        return der[2 : 2 + der[1]]
    size = der[1] & 0x7F
    length = int.from_bytes(der[2 : 2 + size], "big")
    return der[2 + size : 2 + size + length]


def v1_certificate(tbs_v3_without_extensions: bytes, key: Any) -> bytes:
    """DER of an X.509 v1 certificate: the v3 to-be-signed part minus its version field, signed by the
    EC ``key`` with ECDSA-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    body = _sequence_body(tbs_v3_without_extensions)
    if not body.startswith(_V3_VERSION):
        raise ValueError("expected a v3 to-be-signed certificate")
    tbs = _der(0x30, body[len(_V3_VERSION) :])
    signature = key.sign(tbs, ec.ECDSA(hashes.SHA256()))
    return _der(0x30, tbs + _ECDSA_SHA256 + _der(0x03, b"\x00" + signature))


@dataclass(frozen=True)
class SimulatedPki:
    """PEM files: the CA certificate (for clients), the device certificate and its key (for the server)."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    server_name: str


def make_pki(directory: Path, serial: str, *, now: datetime) -> SimulatedPki:
    """Create a CA and a device certificate for ``appliance/p1dongle/<serial>`` valid around ``now``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    server_name = f"appliance/p1dongle/{serial.lower()}"
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zsm simulated HomeWizard CA")])
    start = now - timedelta(days=1)
    ca_v3 = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=3650))
        .sign(ca_key, hashes.SHA256())
    )
    ca_cert = x509.load_der_x509_certificate(v1_certificate(ca_v3.tbs_certificate_bytes, ca_key))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, server_name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "homewizard-sim-ca.pem"
    cert_file = directory / "device-cert.pem"
    key_file = directory / "device-key.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    key_file.chmod(0o600)
    return SimulatedPki(ca_file, cert_file, key_file, server_name)
