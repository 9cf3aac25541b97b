"""A real daemon log made in virtual time, shared by the log-tool tests (made once per session)."""

from __future__ import annotations

import pytest

from controller.simulation.plant import MeterParams
from tests.logtools._plant_daemon import PlantRun, run_daemon
from tests.logtools._scenario import (
    PLANT_LAG_S,
    RESTART_AT_S,
    SCHEDULE,
    SECONDS,
    T0,
    household,
    netzero_settings,
)


@pytest.fixture(scope="session")
def netzero_log(tmp_path_factory: pytest.TempPathFactory) -> PlantRun:
    """25 min of the real control loop: standby, then a NetZero slot from 18:00 local, a restart at 18:10."""
    path = tmp_path_factory.mktemp("logtools") / "zsm.db"
    return run_daemon(
        path,
        netzero_settings(path),
        household(),
        SCHEDULE,
        T0,
        seconds=SECONDS,
        meter=MeterParams(lag_s=PLANT_LAG_S),
        restart_at_s=RESTART_AT_S,
    )
