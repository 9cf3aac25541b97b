"""Legacy Zendure MQTT protocol, pure: the quoted real reports, units, merging of deltas, command payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from controller.devices.errors import InvalidPayload, PayloadTooLarge
from controller.devices.zendure_mqtt_protocol import (
    MAX_MESSAGE_BYTES,
    MODELS,
    DeviceState,
    Topics,
    command_message,
    decode_message,
    model_for_product_key,
    parse_report_topic,
    quantize_hub_output,
)
from controller.domain.commands import Command

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zendure_mqtt"
AT = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)


def _load(name: str) -> dict[str, object]:
    return decode_message((FIXTURES / name).read_bytes())


def test_full_report_of_a_real_device_in_domain_units() -> None:
    state = DeviceState(MODELS["hyper2000"])
    assert state.merge(_load("report_sf800pro_zha549.json")) == []
    assert state.merge(_load("report_sf800pro_packdata_zha549.json")) == []
    assert state.max_soc_pct == 100.0  # socSet 1000 per-mille
    assert state.min_soc_pct == 10.0  # minSoc 100 per-mille
    assert state.temperature_c == 38.0  # hyperTmp 3111 in 0.1 K
    reading = state.to_reading(AT)
    assert reading.soc_pct == 59
    assert reading.battery_w == 0.0
    assert reading.max_discharge_w == 800  # live inverseMaxPower under the model's 1200 W
    assert reading.ac_mode == 2
    assert reading.fault is None
    assert "xyxyxyxyxy" in state.packs


def test_partial_deltas_merge_into_the_last_full_state() -> None:
    state = DeviceState(MODELS["hyper2000"])
    state.merge(_load("report_sf800pro_zha549.json"))
    state.merge(_load("report_hyper2000_delta_zha310.json"))
    reading = state.to_reading(AT)
    assert reading.battery_w == 439.0  # outputHomePower from the delta
    assert reading.soc_pct == 59  # kept from the full report
    assert state.properties["remainOutTime"] == 368


def test_flat_developer_broker_messages_are_understood() -> None:
    state = DeviceState(MODELS["hyper2000"])
    for line in (FIXTURES / "state_hyper2000_developer_sfc272.jsonl").read_bytes().splitlines():
        state.merge(decode_message(line))
    reading = state.to_reading(AT)
    assert (reading.soc_pct, reading.battery_w, reading.ac_mode, reading.max_discharge_w) == (
        75,
        261.0,
        1,
        600,
    )


def test_a_write_acknowledgement_is_a_report_too() -> None:
    state = DeviceState(MODELS["ace1500"])
    state.merge(_load("write_ack_sf2400ac_zensdk39.json"))
    assert state.properties["outputLimit"] == 203
    assert state.to_reading(AT).fault == "no electricLevel reported yet"


def test_bad_items_are_rejected_with_a_reason_and_the_rest_kept() -> None:
    state = DeviceState(MODELS["hub1200"])
    problems = state.merge(
        {"properties": {"electricLevel": 40, "outputHomePower": [1, 2], "hyperTmp": {"x": 1}, "acMode": 2}}
    )
    assert problems == ["outputHomePower: list value rejected", "hyperTmp: dict value rejected"]
    assert state.properties == {"electricLevel": 40, "acMode": 2}
    assert state.merge({"properties": {f"k{i}": i for i in range(1000)}})[0].startswith("1000 properties")
    assert state.properties == {"electricLevel": 40, "acMode": 2}


def test_oversized_and_non_object_messages_are_refused() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_message(b"{" + b" " * MAX_MESSAGE_BYTES + b"}")
    with pytest.raises(InvalidPayload):
        decode_message(b"[1, 2]")
    with pytest.raises(InvalidPayload):
        decode_message(b"\xff\xfe")


def test_topics_and_product_keys() -> None:
    topics = Topics("gDa3tb", "5ak8yGU7")
    assert topics.report == "/gDa3tb/5ak8yGU7/properties/report"
    assert topics.invoke == "iot/gDa3tb/5ak8yGU7/function/invoke"
    assert topics.read == "iot/gDa3tb/5ak8yGU7/properties/read"
    assert topics.subscribe_reports == "/+/5ak8yGU7/#"
    assert parse_report_topic("/gDa3tb/Hyper 2000/properties/report") == (
        "gDa3tb",
        "Hyper 2000",
        "properties/report",
    )
    assert parse_report_topic("iot/gDa3tb/x/properties/write") is None
    assert model_for_product_key("ja72U0ha") is MODELS["hyper2000"]
    assert model_for_product_key("73bkTV") is MODELS["hub1200"]
    assert model_for_product_key("73BKTV") is None  # product keys are case-sensitive


def test_hyper_charge_is_the_documented_device_automation() -> None:
    kind, body, watts = command_message(
        Command.charge(800), MODELS["hyper2000"], max_charge_w=1200, max_discharge_w=1200
    )
    assert (kind, watts) == ("invoke", -800)
    assert body == {
        "function": "deviceAutomation",
        "arguments": [
            {
                "autoModelProgram": 1,
                "autoModelValue": {
                    "chargingType": 1,
                    "price": 2,
                    "chargingPower": 800,
                    "prices": [1] * 24,
                    "outPower": 0,
                    "freq": 0,
                },  # fmt: skip
                "msgType": 1,
                "autoModel": 8,
            }
        ],
    }
    _, discharge, _ = command_message(
        Command.discharge(1500), MODELS["hyper2000"], max_charge_w=1200, max_discharge_w=1200
    )
    assert discharge["arguments"][0]["autoModelValue"] == {
        "chargingType": 0,
        "chargingPower": 0,
        "freq": 0,
        "outPower": 1200,
    }
    _, off, _ = command_message(
        Command.standby(), MODELS["hyper2000"], max_charge_w=1200, max_discharge_w=1200
    )
    assert off["arguments"][0]["autoModelProgram"] == 0 and off["arguments"][0]["autoModel"] == 0


def test_hub_commands_in_30_w_steps_and_no_ac_charging() -> None:
    assert [quantize_hub_output(w) for w in (0, 14, 16, 40, 50, 89, 99, 100, 333)] == [
        0,
        0,
        30,
        30,
        60,
        90,
        90,
        100,
        333,
    ]
    hub = MODELS["hub1200"]
    _, body, watts = command_message(Command.discharge(50), hub, max_charge_w=0, max_discharge_w=1200)
    assert watts == 60
    assert body["arguments"][0] == {"autoModelProgram": 2, "autoModelValue": 60, "msgType": 1, "autoModel": 8}
    _, body, watts = command_message(Command.charge(500), hub, max_charge_w=0, max_discharge_w=1200)
    assert watts == 0 and body["arguments"][0]["autoModelProgram"] == 0


def test_ace_uses_property_writes_in_50_w_steps() -> None:
    kind, body, watts = command_message(
        Command.charge(420), MODELS["ace1500"], max_charge_w=900, max_discharge_w=800
    )
    assert (kind, watts) == ("write", -400)
    assert body == {"properties": {"autoModel": 0, "acMode": 1, "inputLimit": 400, "outputLimit": 0}}
    assert len(json.dumps(body)) < 200
