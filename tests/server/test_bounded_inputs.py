"""Bounded inputs at the API: physical watts, device limits from status, dates at the calendar's edge,
the schedule document size."""

from __future__ import annotations

from typing import Any

import pytest

from controller.domain.schedule import MAX_BATTERY_W, MAX_SCHEDULE_BYTES
from tests.server.conftest import START, Server

URL = "/api/v1/sites/home"


def _put(server: Server, body: Any) -> Any:
    return server.client.put(f"{URL}/schedule", json=body, headers={**server.bearer(), "If-Match": "*"})


@pytest.mark.parametrize(
    "default",
    [
        {"mode": "charge", "power_w": 1_000_000_000},
        {"mode": "netzero", "max_w": 1_000_000_000},
        {"mode": "netzero", "target_offset_w": 1e12},
        {"mode": "netzero", "target_offset_w": -1e12},
    ],
)
def test_absurd_watts_are_refused_when_the_site_posted_no_limits(
    server: Server, default: dict[str, Any]
) -> None:
    reply = _put(server, {"default": default})
    assert reply.status_code == 422, reply.text
    assert reply.json()["errors"][0]["field"].startswith("default.")


def test_status_cannot_lift_the_limit_check(server: Server) -> None:
    status = {"state": "NetZero", "heartbeat_at": START.isoformat(), "max_charge_w": 1e9}
    reply = server.client.post(f"{URL}/status", json=status, headers=server.bearer())
    assert reply.status_code == 422
    assert _put(server, {"default": {"mode": "charge", "power_w": MAX_BATTERY_W + 1}}).status_code == 422
    sane = {**status, "max_charge_w": 800}
    assert server.client.post(f"{URL}/status", json=sane, headers=server.bearer()).status_code == 200
    assert _put(server, {"default": {"mode": "charge", "power_w": 900}}).status_code == 422


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("telemetry", {"start": "0001-01-01T00:00:00+14:00", "end": "2026-11-24T00:00:00Z"}),
        ("telemetry", {"start": "2026-11-24T00:00:00Z", "end": "9999-12-31T23:59:59-05:00"}),
        ("telemetry", {"end": "0001-01-02T00:00:00Z"}),
        ("audit", {"at": "9999-12-31T23:59:59-05:00"}),
        ("audit", {"at": "0001-01-01T00:00:00+14:00"}),
    ],
)
def test_dates_at_the_calendars_edge_are_422(server: Server, path: str, params: dict[str, str]) -> None:
    reply = server.client.get(f"{URL}/{path}", params=params, headers=server.bearer())
    assert reply.status_code == 422, reply.text


@pytest.mark.parametrize("start", ["0001-01-01T00:00+14:00", "9999-12-31T23:00-05:00"])
def test_schedule_with_a_date_at_the_calendars_edge_is_422(server: Server, start: str) -> None:
    slot = {"start": start, "end": "2026-12-01T00:00", "mode": "standby"}
    reply = _put(server, {"dated": [slot]})
    assert reply.status_code == 422, reply.text


def test_schedule_document_over_the_size_cap_is_413(server: Server) -> None:
    slot = {"id": "x" * 60, "days": ["mon"], "start": "01:00", "end": "02:00", "mode": "standby"}
    body = {"recurring": [slot] * (MAX_SCHEDULE_BYTES // 100)}
    reply = _put(server, body)
    assert reply.status_code == 413


def test_a_stored_absurd_limit_is_ignored(server: Server) -> None:
    from storage.server.services.sites import get_site
    from storage.server.services.status import device_limits, store_status

    engine = server.app.state.zsm.engine  # type: ignore[attr-defined]
    site = get_site(engine, "home")
    store_status(engine, site, {"state": "x", "max_charge_w": 1e9, "max_discharge_w": 600}, START, START)
    assert device_limits(engine, site) == {"max_discharge_w": 600}
