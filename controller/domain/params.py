"""The core's own parameters: safety limits and regulator knobs, as plain frozen values.

:mod:`controller.settings` validates the configuration and builds these (``LimitSettings.domain()``,
``RegulationSettings.domain()``); the domain depends on nothing outside it. The defaults are the
configuration's defaults (a test keeps them equal).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Limits", "RegulationParams"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Safety limits and the hysteresis needed to leave SafetyLimit (already validated)."""

    min_soc_pct: float = 10.0
    max_soc_pct: float = 95.0
    soc_hysteresis_pct: float = 2.0
    max_temperature_c: float = 55.0
    temperature_hysteresis_c: float = 5.0
    max_charge_w: int = 1000
    max_discharge_w: int = 800
    meter_stale_s: float = 30.0
    battery_stale_s: float = 30.0


@dataclass(frozen=True, slots=True)
class RegulationParams:
    """NetZero / NetZero+ regulator knobs (see ``RegulationSettings`` for what each one means)."""

    lag_s: float | Literal["auto"] = "auto"
    deadband_w: float = 25.0
    min_write_interval_s: float = 10.0
    direction_dwell_s: float = 60.0
    start_threshold_w: float = 50.0
    target_offset_w: float = 0.0
    write_burst: int = 10
    min_write_gap_s: float = 2.0
    spike_filter: bool = True
    limit_cycle_fallback: bool = True
    lag_initial_s: float = 10.0
    lag_min_s: float = 5.0
    lag_max_s: float = 40.0
    lag_window_s: float = 150.0
    lag_min_confidence: float = 0.3
    battery_dead_time_s: float = 2.0
    learn_dead_time: bool = True
    battery_ramp_w_per_s: float = 400.0
