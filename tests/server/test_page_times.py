"""Times on the editor stay put: shown in the schedule's zone, labelled, saved back unchanged (issue 13)."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from typing import Any

import pytest

from tests.server.conftest import Server

EVERY_SHAPE: dict[str, Any] = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "netzero", "max_w": 800},
    "recurring": [
        {"id": "evening", "days": ["fri", "mon"], "start": "19:31:37", "end": "23:00", "mode": "netzero"},
        {"days": ["sat"], "start": "22:00", "end": "06:00", "mode": "charge", "power_w": 600},
        {"days": ["sun"], "start": "08:15", "end": "09:00", "mode": "netzero", "target_offset_w": -25.5},
        {"days": ["tue", "wed"], "start": "12:00", "end": "13:00", "mode": "netzero_plus", "max_w": 400},
        {
            "id": "planned",
            "days": ["thu"],
            "start": "02:00",
            "end": "04:00",
            "mode": "charge",
            "power_w": 800,
            "plan": {"planner": "zsm plan", "price_eur_per_kwh": 0.11, "reason": "cheapest hours"},
        },
    ],
    "dated": [
        {"id": "utc", "start": "2026-12-04T19:31:37Z", "end": "2026-12-04T20:00:00Z", "mode": "standby"},
        {"start": "2026-12-05T08:00:00+05:30", "end": "2026-12-05T10:00:00+05:30", "mode": "standby"},
        {"start": "2026-12-06T08:00:00.250", "end": "2026-12-06T09:00", "mode": "discharge", "power_w": 300},
        {"start": "2026-12-07T00:00", "end": "2026-12-08T00:00", "mode": "netzero", "max_w": 500},
        {"start": "2026-03-29T02:30", "end": "2026-03-29T04:00", "mode": "standby"},
    ],
}


class _FormReader(HTMLParser):
    """What a browser would submit for the first slot form of a page (inputs, checked boxes, selects)."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.action = ""
        self.labels: list[str] = []
        self._in_form = False
        self._done = False
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if self._done:
            return
        if tag == "form" and "slot-form" in a.get("class", ""):
            self._in_form, self.action = True, a["action"]
        elif not self._in_form:
            return
        elif tag == "input" and a.get("type") == "checkbox":
            if "checked" in a:
                self.fields.append((a["name"], a.get("value", "on")))
        elif tag == "input":
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and self._select and "selected" in a:
            self.fields.append((self._select, a["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._in_form:
            self._in_form, self._done = False, True
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._in_form and data.strip():
            self.labels.append(data.strip())


def _read_form(html: str) -> _FormReader:
    reader = _FormReader()
    reader.feed(html)
    return reader


def _put(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    etag = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer()).headers["etag"]
    headers = {**server.bearer(), "If-Match": etag}
    reply = server.client.put("/api/v1/sites/home/schedule", json=body, headers=headers)
    assert reply.status_code == 200, reply.text
    stored: dict[str, Any] = reply.json()
    return stored


def _stored(server: Server) -> dict[str, Any]:
    body: dict[str, Any] = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer()).json()
    return body


def _submit(server: Server, reader: _FormReader, **changes: str) -> None:
    data: dict[str, Any] = {}
    for name, value in reader.fields:
        data.setdefault(name, []).append(value)
    for name, value in changes.items():
        data[name] = [value]
    reply = server.client.post(reader.action, data=data, follow_redirects=False)
    assert reply.status_code == 303, reply.text
    assert reply.headers["location"].endswith("msg=saved")


def test_a_utc_slot_is_shown_in_the_schedule_zone_and_labelled(server: Server) -> None:
    _put(server, EVERY_SHAPE)
    server.login("alice")
    reader = _read_form(server.client.get("/sites/home/schedule/dated/0").text)
    fields = dict(reader.fields)
    assert fields["start"] == "2026-12-04T20:31:37"  # 19:31:37Z is 20:31:37 in Amsterdam, seconds kept
    assert fields["end"] == "2026-12-04T21:00"
    assert "Start (Europe/Amsterdam)" in reader.labels
    editor = server.client.get("/sites/home/schedule").text
    assert "2026-12-04 20:31:37 → 2026-12-04 21:00" in editor
    assert re.search(r"all times in <b class=\"zone\">Europe/Amsterdam</b>", editor)


@pytest.mark.parametrize(("kind", "count"), [("recurring", 5), ("dated", 5)])
def test_saving_every_slot_shape_without_edits_changes_nothing(server: Server, kind: str, count: int) -> None:
    before = _put(server, EVERY_SHAPE)
    server.login("alice")
    for index in range(count):
        reader = _read_form(server.client.get(f"/sites/home/schedule/{kind}/{index}").text)
        _submit(server, reader)
    after = _stored(server)
    assert after == before


def test_editing_the_mode_keeps_the_stored_times(server: Server) -> None:
    before = _put(server, EVERY_SHAPE)
    server.login("alice")
    reader = _read_form(server.client.get("/sites/home/schedule/dated/1").text)
    _submit(server, reader, mode="netzero", max_w="300")
    slot = _stored(server)["dated"][1]
    assert slot["start"] == before["dated"][1]["start"] and slot["end"] == before["dated"][1]["end"]
    assert slot["mode"] == "netzero" and slot["max_w"] == 300


def test_an_edited_time_is_saved_as_wall_time_in_the_schedule_zone(server: Server) -> None:
    _put(server, EVERY_SHAPE)
    server.login("alice")
    reader = _read_form(server.client.get("/sites/home/schedule/dated/0").text)
    _submit(server, reader, start="2026-12-04T20:45")
    slot = _stored(server)["dated"][0]
    assert slot["start"] == "2026-12-04T20:45:00"  # 20:45 Amsterdam = 19:45Z: moved by what was typed
    assert slot["end"] == "2026-12-04T20:00:00Z"


def test_a_person_changing_a_planned_slot_drops_the_plan_note(server: Server) -> None:
    body = copy.deepcopy(EVERY_SHAPE)
    _put(server, body)
    server.login("alice")
    reader = _read_form(server.client.get("/sites/home/schedule/recurring/4").text)
    _submit(server, reader, power_w="500")
    slot = _stored(server)["recurring"][4]
    assert slot["power_w"] == 500 and slot["plan"] is None and slot["start"] == "02:00:00"
