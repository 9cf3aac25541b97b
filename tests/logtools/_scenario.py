"""The shared scenario of the log-tool tests: an evening NetZero slot in Amsterdam, a 20 s meter lag."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from controller.settings import MeterSettings, Settings
from controller.simulation.plant import Household, synthetic_household

T0 = datetime(2026, 11, 24, 16, 55, tzinfo=UTC)  # 17:55 in Amsterdam (CET)
SECONDS = 1500
RESTART_AT_S = 900
PLANT_LAG_S = 20.0
SCHEDULE: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "dated": [{"id": "evening", "start": "2026-11-24T18:00", "end": "2026-11-24T19:00", "mode": "netzero"}],
}


def household() -> Household:
    return synthetic_household(seed=3, duration_s=3600, start_hour=17.9, base_w=300, appliance_rate_per_h=20)


def netzero_settings(path: Path) -> Settings:
    """The settings the shared log is recorded with.

    The meter is polled every tick: with poll interval == tick interval the poller is sometimes not yet due
    (float noise here, wake-up jitter on the Pi) and the tick reads nothing; such silent ticks leave no
    trace in the log, so replay can only estimate their time (see controller.logtools.replay).
    """
    return Settings(database_path=path, meter=MeterSettings(poll_interval_s=1.0))
