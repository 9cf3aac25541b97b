"""One place that builds the controller core from the settings (the daemon, replay and tools share it)."""

from __future__ import annotations

from controller.domain.machine import ControllerCore
from controller.domain.regulator import ZsmRegulator
from controller.settings import Settings

__all__ = ["build_core"]


def build_core(settings: Settings) -> ControllerCore:
    """The core with the configured limits, the zsm regulator and its thresholds."""
    regulation = settings.regulation
    return ControllerCore(
        settings.limits.domain(),
        ZsmRegulator(regulation.domain()),
        target_offset_w=regulation.target_offset_w,
    )
