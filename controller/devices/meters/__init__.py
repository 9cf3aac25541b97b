"""P1 / grid meter adapters. Each turns its protocol into :class:`~controller.domain.events.MeterReading`."""

from controller.devices.meters.base import MeterAdapter, NewDataFilter

__all__ = ["MeterAdapter", "NewDataFilter"]
