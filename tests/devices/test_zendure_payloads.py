"""zenSDK payloads: the real report fixture, unit normalisation, limits, and command → property tables."""

from __future__ import annotations

import json

import pytest

from controller.devices.errors import InvalidPayload, PayloadTooLarge, UnsupportedError
from controller.devices.zendure_commands import (
    MAX_BODY_BYTES,
    StandbyStyle,
    encode_body,
    property_payload,
)
from controller.devices.zendure_models import model_for_product, parse_report, parse_write_reply
from controller.domain.commands import Command
from tests.devices.conftest import START, fixture_text

SN = "TESTDEV00000001"


def real_report_text() -> str:
    return fixture_text("zendure", "report_2400acplus_real.json")


def test_real_report_parses_with_units_normalised() -> None:
    report = parse_report(real_report_text())
    assert report.product == "solarFlow2400AC+"
    assert report.sn == SN
    assert report.soc_pct == 10.0
    assert report.min_soc_pct == 10.0  # minSoc 100 per-mille
    assert report.max_soc_pct == 100.0  # socSet 1000 per-mille
    assert report.temperature_c == pytest.approx(34.0)  # hyperTmp 3071 (0.1 K)
    assert report.voltage_v == pytest.approx(48.12)  # BatVolt 4812 (0.01 V)
    assert report.pack_data[0].voltage_v == pytest.approx(48.10)
    assert report.pack_data[0].max_temp_c == pytest.approx(32.0)
    assert report.remaining_minutes is None  # 59940 = invalid
    assert report.properties.soc_limit == 2  # discharge cut-off reached
    # Live limits win over the model's static ones (2400 AC+: 3200 charge / 2400 discharge).
    assert report.max_discharge_w == 800
    assert report.max_charge_w == 800
    # Unknown properties are kept but not modelled.
    assert report.properties.model_extra is not None and report.properties.model_extra["Fanmode"] == 1


def test_real_report_becomes_battery_reading() -> None:
    reading = parse_report(real_report_text()).to_reading(START)
    assert reading.at == START
    assert reading.soc_pct == 10.0
    assert reading.battery_w == 0.0
    assert reading.soc_limit == 2
    assert reading.ac_mode == 2
    assert reading.fault is None


def test_sign_convention_discharge_positive_charge_negative() -> None:
    data = json.loads(real_report_text())
    data["properties"].update(outputHomePower=300, gridInputPower=0, packInputPower=326)
    assert parse_report(json.dumps(data)).battery_w == 300
    data["properties"].update(outputHomePower=0, gridInputPower=500, packInputPower=0, outputPackPower=465)
    report = parse_report(json.dumps(data))
    assert report.battery_w == -500
    assert report.pack_w == -465


@pytest.mark.parametrize(
    ("live_out", "live_in", "expected"),
    [(0, 0, (0, 0)), (None, None, (2400, 3200)), (600, None, (600, 3200))],
)
def test_live_limits_win_and_zero_means_blocked(
    live_out: int | None, live_in: int | None, expected: tuple[int, int]
) -> None:
    data = json.loads(real_report_text())
    for key, value in (("inverseMaxPower", live_out), ("chargeMaxLimit", live_in)):
        if value is None:
            del data["properties"][key]
        else:
            data["properties"][key] = value
    report = parse_report(json.dumps(data))
    assert (report.max_discharge_w, report.max_charge_w) == expected


@pytest.mark.parametrize("ac_mode", [127, 251, 255])
def test_invalid_ac_mode_is_a_fault(ac_mode: int) -> None:
    data = json.loads(real_report_text())
    data["properties"]["acMode"] = ac_mode
    reading = parse_report(json.dumps(data)).to_reading(START)
    assert reading.fault == f"acMode reported as {ac_mode}"


def test_missing_required_field_is_invalid_payload() -> None:
    data = json.loads(real_report_text())
    del data["sn"]
    with pytest.raises(InvalidPayload):
        parse_report(json.dumps(data))
    with pytest.raises(InvalidPayload):
        parse_report(fixture_text("zendure", "report_api_disabled.json"))


def test_real_write_reply_is_accepted_only_for_its_serial() -> None:
    reply = parse_write_reply(fixture_text("zendure", "write_reply_success_real.json"))
    assert reply.accepted(SN)
    assert not reply.accepted("OTHER")
    assert not parse_write_reply('{"success":1,"code":200}').accepted(SN)  # int 1 is not JSON true


def test_product_models() -> None:
    assert model_for_product("solarFlow800Pro").max_discharge_w == 800
    assert model_for_product("SOLARFLOW2400AC+").max_charge_w == 3200
    with pytest.raises(UnsupportedError):
        model_for_product("hyper2000")


# -- command intent → exact property payload (table) ----------------------------------------------------
CASES = [
    (Command.charge(500), {}, {"smartMode": 1, "acMode": 1, "outputLimit": 0, "inputLimit": 500}),
    (Command.discharge(300), {}, {"smartMode": 1, "acMode": 2, "outputLimit": 300, "inputLimit": 0}),
    (Command.standby(), {}, {"smartMode": 1, "acMode": 2, "outputLimit": 0, "inputLimit": 0}),
    (
        Command.standby(),
        {"standby": StandbyStyle.PERSIST},
        {"smartMode": 0, "acMode": 2, "outputLimit": 0, "inputLimit": 0},
    ),
    (
        Command.standby(),
        {"standby_ac_mode": 1},
        {"smartMode": 1, "acMode": 1, "outputLimit": 0, "inputLimit": 0},
    ),
    # Clamped to the live limits (never out of range), 0 = blocked.
    (
        Command.discharge(5000),
        {"max_discharge_w": 800},
        {"smartMode": 1, "acMode": 2, "outputLimit": 800, "inputLimit": 0},
    ),
    (
        Command.charge(1500),
        {"max_charge_w": 1000},
        {"smartMode": 1, "acMode": 1, "outputLimit": 0, "inputLimit": 1000},
    ),
    (
        Command.discharge(300),
        {"max_discharge_w": 0},
        {"smartMode": 1, "acMode": 2, "outputLimit": 0, "inputLimit": 0},
    ),
    (Command.charge(99_999), {}, {"smartMode": 1, "acMode": 1, "outputLimit": 0, "inputLimit": 10_000}),
]


@pytest.mark.parametrize(
    ("command", "options", "expected"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)]
)
def test_command_to_exact_property_payload(command: Command, options: dict, expected: dict) -> None:
    body = property_payload(command, SN, **options)
    assert body == {"sn": SN, "properties": expected}
    assert len(encode_body(body)) <= MAX_BODY_BYTES
    assert all(isinstance(v, int) and v >= 0 for v in body["properties"].values())


def test_payload_carries_request_id_and_refuses_missing_sn() -> None:
    assert property_payload(Command.charge(100), SN, request_id=7)["id"] == 7
    with pytest.raises(ValueError):
        property_payload(Command.charge(100), "")


def test_body_over_512_bytes_is_refused_before_sending() -> None:
    with pytest.raises(PayloadTooLarge):
        property_payload(Command.charge(100), "S" * 520)
