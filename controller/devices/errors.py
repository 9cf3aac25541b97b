"""The device error hierarchy. Library exceptions are mapped to these at one seam per adapter.

Only :class:`DeviceUnreachable` (and its subclasses) is transient and may be retried; everything else is a
definite answer from the device and retrying it would not help.
"""

from __future__ import annotations

__all__ = [
    "ApiDisabled",
    "DeviceError",
    "DeviceResponseError",
    "DeviceTimeout",
    "DeviceUnauthorized",
    "DeviceUnreachable",
    "InvalidPayload",
    "PayloadTooLarge",
    "UnsupportedError",
    "WriteRejected",
]


class DeviceError(Exception):
    """Base of every error raised by a device adapter."""


class DeviceUnreachable(DeviceError):
    """The device did not answer: connection refused or reset, DNS failure, socket closed (transient)."""


class DeviceTimeout(DeviceUnreachable):
    """The device accepted the connection but did not answer within the timeout (transient)."""


class DeviceResponseError(DeviceError):
    """The device answered, but not with success (unexpected HTTP status or error body)."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class InvalidPayload(DeviceResponseError):
    """The device answered with a body of the wrong shape (bad JSON, missing fields, bad CRC)."""


class DeviceUnauthorized(DeviceResponseError):
    """HTTP 401: wrong or missing ``sn`` (zenSDK) or a bad / missing bearer token (HomeWizard v2)."""


class PayloadTooLarge(DeviceResponseError):
    """A write body over the device's receive limit: refused locally before sending, or HTTP 413."""


class WriteRejected(DeviceResponseError):
    """HTTP 200 whose body says the write failed (zenSDK ``code`` 400 / ``success`` false: TLV failure)."""


class ApiDisabled(DeviceResponseError):
    """The local API is switched off (zenSDK "HEMS not added" reply, HomeWizard 403 id 202)."""


class UnsupportedError(DeviceError):
    """The device or firmware does not offer what was asked (unknown product, missing endpoint)."""
