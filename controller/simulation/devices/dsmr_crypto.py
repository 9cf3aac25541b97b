"""Encrypted P1 frames as Luxembourg Smarty and Austrian (Sagemcom T210-D) meters send them.

A DLMS general-global-cipher APDU: tag ``0xDB``, the 8-byte system title, a long-form length, security
control ``0x30`` (authenticated and encrypted, suite 0), a 4-byte invocation counter, then the telegram
encrypted with AES-128-GCM (IV = system title + counter, AAD = security control + authentication key) and a
12-byte tag. Used by the DSMR simulator so the decrypting path of the meter adapter is tested on the wire.
"""

from __future__ import annotations

__all__ = ["encrypt_telegram"]

_TAG = 0xDB
_SECURITY_CONTROL = 0x30
_GCM_TAG_BYTES = 12


def encrypt_telegram(
    telegram: str, key_hex: str, auth_key_hex: str, *, system_title: bytes, invocation_counter: int
) -> bytes:
    """``telegram`` (text, CRC included) as one encrypted frame."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(system_title) != 8:
        raise ValueError("system title must be 8 bytes")
    counter = invocation_counter.to_bytes(4, "big")
    aad = bytes([_SECURITY_CONTROL]) + bytes.fromhex(auth_key_hex)
    sealed = AESGCM(bytes.fromhex(key_hex)).encrypt(system_title + counter, telegram.encode("ascii"), aad)
    ciphertext, tag = sealed[:-16], sealed[-16:][:_GCM_TAG_BYTES]  # GCM tags truncate to their first bytes
    payload = bytes([_SECURITY_CONTROL]) + counter + ciphertext + tag
    return (
        bytes([_TAG, len(system_title)])
        + system_title
        + bytes([0x82])
        + len(payload).to_bytes(2, "big")
        + payload
    )
