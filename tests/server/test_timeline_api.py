"""The timeline's APIs: the schedule as spans over a range, and prices when a source delivered some."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.server.conftest import START, Server
from tests.server.test_api import event

SCHEDULE: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "recurring": [{"id": "evening", "days": ["tue"], "start": "17:00", "end": "22:00", "mode": "netzero"}],
    "dated": [
        {
            "start": "2026-11-24T14:00:00Z",
            "end": "2026-11-24T15:00:00Z",
            "mode": "charge",
            "power_w": 800,
            "plan": {"planner": "zsm plan", "expected_soc_start_pct": 30, "expected_soc_end_pct": 60},
        }
    ],
}


def _put(server: Server, body: dict[str, Any]) -> None:
    etag = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer()).headers["etag"]
    reply = server.client.put(
        "/api/v1/sites/home/schedule", json=body, headers={**server.bearer(), "If-Match": etag}
    )
    assert reply.status_code == 200, reply.text


def _range(hours: int = 24) -> dict[str, str]:
    return {"start": START.isoformat(), "end": (START + timedelta(hours=hours)).isoformat()}


def test_spans_cover_the_range_in_order_and_name_their_slot(server: Server) -> None:
    _put(server, SCHEDULE)  # 2026-11-24 is a Tuesday; START is 12:00Z
    reply = server.client.get("/api/v1/sites/home/schedule/spans", params=_range(), headers=server.bearer())
    assert reply.status_code == 200, reply.text
    body = reply.json()
    spans = [(s["kind"], s["index"], s["mode"], s["start"][11:16], s["end"][11:16]) for s in body["spans"]]
    assert spans == [
        ("default", None, "standby", "12:00", "14:00"),
        ("dated", 0, "charge", "14:00", "15:00"),
        ("default", None, "standby", "15:00", "16:00"),
        ("recurring", 0, "netzero", "16:00", "21:00"),  # 17:00-22:00 in Amsterdam (UTC+1)
        ("default", None, "standby", "21:00", "12:00"),
    ]
    assert body["spans"][1]["plan"]["expected_soc_end_pct"] == 60
    assert body["timezone"] == "Europe/Amsterdam" and body["etag"]


def test_spans_refuse_long_ranges(server: Server) -> None:
    reply = server.client.get(
        "/api/v1/sites/home/schedule/spans", params=_range(24 * 30), headers=server.bearer()
    )
    assert reply.status_code == 400


def _prices(seq: int, at_s: float, price: float, count: int = 4) -> dict[str, Any]:
    intervals = [
        {
            "start": (START + timedelta(minutes=15 * i)).isoformat(),
            "end": (START + timedelta(minutes=15 * (i + 1))).isoformat(),
            "import_eur_per_kwh": price + i / 100,
        }
        for i in range(count)
    ]
    return event(seq, "prices_received", at_s, source="test", zone="NL", intervals=intervals)


def test_prices_are_empty_until_a_source_delivers_then_the_latest_wins(server: Server) -> None:
    url = "/api/v1/sites/home/prices"
    assert server.client.get(url, params=_range(), headers=server.bearer()).json()["intervals"] == []
    events = [_prices(1, -3600, 0.30), _prices(2, -60, 0.20, count=2)]
    reply = server.client.post("/api/v1/sites/home/events", json={"events": events}, headers=server.bearer())
    assert reply.status_code == 200, reply.text
    intervals = server.client.get(url, params=_range(), headers=server.bearer()).json()["intervals"]
    assert [round(i["import_eur_per_kwh"], 4) for i in intervals] == [0.20, 0.21, 0.32, 0.33]
    assert intervals[0]["export_eur_per_kwh"] is None
