"""The chart's set-point is the command in force, never a mean of commands (issue 13)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from storage.server.services import telemetry
from tests.server.conftest import START, Server
from tests.server.test_api import event


def _command(seq: int, seconds: float, kind: str, power_w: int) -> dict[str, Any]:
    return event(
        seq,
        "command_issued",
        seconds,
        command={"kind": kind, "power_w": power_w},
        state="NetZero",
        reason="slot boundary",
        inputs={},
    )


def _post(server: Server, events: list[dict[str, Any]]) -> None:
    for i in range(0, len(events), 500):
        reply = server.client.post(
            "/api/v1/sites/home/events", json={"events": events[i : i + 500]}, headers=server.bearer()
        )
        assert reply.status_code == 200, reply.text


def _steps(server: Server, minutes: int, points: int) -> tuple[list[datetime], list[float]]:
    params = {
        "start": START.isoformat(),
        "end": (START + timedelta(minutes=minutes)).isoformat(),
        "points": points,
    }
    reply = server.client.get("/api/v1/sites/home/telemetry", params=params, headers=server.bearer())
    assert reply.status_code == 200, reply.text
    steps = reply.json()["setpoint_steps"]
    return [datetime.fromisoformat(t) for t in steps["t"]], steps["w"]


def test_two_commands_in_one_bucket_draw_the_one_in_force(server: Server) -> None:
    """Discharge 800 W, 10 ms later charge 600 W: the chart shows -600 W from then on, not +100 W."""
    _post(
        server,
        [
            _command(1, 0, "discharge", 400),
            _command(2, 120, "discharge", 800),
            _command(3, 120.01, "charge", 600),
        ],
    )
    times, watts = _steps(server, minutes=60, points=20)  # 3-minute buckets
    assert watts == [400.0, 800.0, -600.0]
    assert times[0] == START and times[2] == START + timedelta(seconds=120.01)
    assert 100.0 not in watts


def test_the_command_before_the_range_is_in_force_at_its_start(server: Server) -> None:
    _post(server, [_command(1, 0, "charge", 300)])
    params = {
        "start": (START + timedelta(minutes=5)).isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
    }
    reply = server.client.get("/api/v1/sites/home/telemetry", params=params, headers=server.bearer())
    steps = reply.json()["setpoint_steps"]
    assert steps["w"] == [-300.0] and datetime.fromisoformat(steps["t"][0]) == START + timedelta(minutes=5)


def test_more_changes_than_the_cap_keep_commanded_values_per_bucket(server: Server, monkeypatch: Any) -> None:
    monkeypatch.setattr(telemetry, "MAX_STEPS", 50)
    events = [
        _command(seq, seq * 2.0, "discharge" if seq % 2 else "charge", 700 if seq % 2 else 500)
        for seq in range(1, 601)
    ]
    _post(server, events)
    times, watts = _steps(server, minutes=60, points=10)
    assert set(watts) <= {700.0, -500.0}  # only values a command carried
    assert len(watts) <= 11 and times == sorted(times)
