"""Property-based run of schemathesis against the OpenAPI schema: no input may cause a 5xx.

The app is built when the module is collected (schemathesis reads the schema then); its SQLite file lives
in a temporary directory removed when the module's tests are done.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from controller.clock import ManualClock
from storage.database import sqlite_url
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services.sites import create_site

_TMP = tempfile.TemporaryDirectory(prefix="zsm-schemathesis-")
_CLOCK = ManualClock(datetime(2026, 11, 24, 12, tzinfo=UTC))
_CONFIG = ServerConfig(
    database_url=sqlite_url(Path(_TMP.name) / "server.db"),
    ingest_rate_per_s=1e6,
    api_rate_per_s=1e6,
    api_burst=10**6,
)
APP = create_app(_CONFIG, clock=_CLOCK)
_SITE, TOKEN = create_site(APP.state.zsm.engine, "home", _CLOCK.now())
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])


@pytest.fixture(scope="module", autouse=True)
def _cleanup() -> Iterator[None]:
    yield
    APP.state.zsm.engine.dispose()
    _TMP.cleanup()


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_server_errors(case: Any) -> None:
    if "site" in (case.path_parameters or {}):
        case.path_parameters["site"] = (
            "home"  # authorised requests reach the handlers, not only the auth check
        )
    response = case.call(headers={"Authorization": f"Bearer {TOKEN}", "If-Match": "*"})
    assert response.status_code < 500, (case.method, case.formatted_path, response.status_code, response.text)
