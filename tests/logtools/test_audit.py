"""Audit: why did the battery discharge at 18:03 in the NetZero slot?"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from controller.cli import main
from controller.logtools.audit import collect_audit_events, explain_at, format_audit, parse_at
from controller.logtools.common import open_log, zone
from tests.logtools._plant_daemon import PlantRun

AMS = zone("Europe/Amsterdam")


def test_parse_at_is_local_unless_an_offset_is_given() -> None:
    assert parse_at("2026-11-24 18:03", AMS) == datetime(2026, 11, 24, 17, 3, tzinfo=UTC)
    assert parse_at("2026-07-01 18:03", AMS) == datetime(2026, 7, 1, 16, 3, tzinfo=UTC)  # summer time
    assert parse_at("2026-11-24T18:03Z", AMS) == datetime(2026, 11, 24, 18, 3, tzinfo=UTC)
    assert parse_at("2026-11-24T18:03+02:00", AMS) == datetime(2026, 11, 24, 16, 3, tzinfo=UTC)
    with pytest.raises(ValueError, match="not a time"):
        parse_at("yesterday", AMS)


def test_audit_explains_a_discharge_in_the_netzero_slot(netzero_log: PlantRun) -> None:
    at = parse_at("2026-11-24 18:03", AMS)
    log = open_log(netzero_log.path)
    try:
        audit = explain_at(collect_audit_events(log, at), at, "Europe/Amsterdam")
    finally:
        log.close()

    assert audit.command is not None and audit.command.startswith("discharge")
    assert audit.battery_w is not None and audit.battery_w > 0
    assert audit.state == "NetZero"
    assert audit.issued_at is not None and audit.issued_at <= at
    assert audit.device is not None and "accepted" in audit.device
    roles = {step.role: step for step in audit.chain}
    assert {"schedule", "slot", "state", "meter", "battery"} <= set(roles)
    assert "'evening' (netzero" in roles["slot"].words
    assert "-> NetZero" in roles["state"].words
    assert roles["meter"].data["grid_w"] == audit.inputs["meter_w"]
    assert roles["meter"].at <= audit.issued_at
    # the regulator's inputs: lagged reading, lag, battery at the meter's moment, load estimate
    for key in ("meter_w", "lag_s", "lag_source", "battery_then_w", "load_estimate_w", "target_offset_w"):
        assert key in audit.inputs
    assert audit.inputs["slot"] == "evening" and audit.inputs["slot_mode"] == "netzero"
    text = format_audit(audit)
    for words in ("18:03:00 CET", "discharge", "NetZero", "evening", "meter", "household's net load"):
        assert words in text


def test_audit_before_any_command(netzero_log: PlantRun) -> None:
    at = parse_at("2026-11-24 12:00", AMS)
    log = open_log(netzero_log.path)
    try:
        audit = explain_at(collect_audit_events(log, at), at)
    finally:
        log.close()
    assert audit.command is None
    assert "no command" in audit.summary


def test_cli_audit(netzero_log: PlantRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", str(netzero_log.path), "--at", "2026-11-24 18:03"]) == 0
    assert "How it came about:" in capsys.readouterr().out

    assert main(["audit", str(netzero_log.path), "--at", "2026-11-24T17:03:00Z", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["state"] == "NetZero" and data["command"].startswith("discharge")
    assert data["timezone"] == "Europe/Amsterdam"

    assert main(["audit", str(netzero_log.path), "--at", "not a time"]) == 2
