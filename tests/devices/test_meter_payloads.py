"""Meter adapters on real, documented payloads (HomeWizard docs, dsmr_parser's telegrams)."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dsmr_parser.parsers import TelegramParser

from controller.clock import ManualClock
from controller.devices.errors import DeviceUnreachable, InvalidPayload
from controller.devices.meters.dsmr import DsmrMeter, specification_for, telegram_to_reading
from controller.devices.meters.homewizard_v1 import HomeWizardDevice, HomeWizardV1Data, telegram_time
from controller.devices.meters.homewizard_v2 import HomeWizardV2Measurement
from controller.devices.meters.json_http import extract
from tests.devices.conftest import START, fixture_text

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_homewizard_v1_documented_three_phase_payload() -> None:
    data = HomeWizardV1Data.model_validate_json(fixture_text("homewizard", "api_v1_data_3phase.json"))
    reading = data.to_reading(START)
    assert reading.grid_w == -543  # + = import; this home exports
    assert reading.phases_w == (-676, 133, 0)
    assert reading.import_kwh == pytest.approx(13779.338)
    assert reading.export_kwh == 0
    assert reading.meter_time is None  # /api/v1/data carries no timestamp


def test_homewizard_v1_explicit_nulls_and_device() -> None:
    data = HomeWizardV1Data.model_validate_json(fixture_text("homewizard", "api_v1_data_fluvius_nulls.json"))
    reading = data.to_reading(START)
    assert (reading.grid_w, reading.phases_w, reading.import_kwh) == (461, (400, 0, 60), None)
    device = HomeWizardDevice.model_validate_json(fixture_text("homewizard", "api_v1_device.json"))
    assert (device.product_type, device.serial, device.api_version) == ("HWE-P1", "3c39e7aabbcc", "v1")


def test_homewizard_v1_without_power_is_invalid() -> None:
    with pytest.raises(InvalidPayload):
        HomeWizardV1Data.model_validate({"smr_version": 50}).to_reading(START)


def test_homewizard_v2_documented_measurement_has_meter_time() -> None:
    measurement = HomeWizardV2Measurement.model_validate_json(
        fixture_text("homewizard", "api_v2_measurement_3phase.json")
    )
    reading = measurement.to_reading(START, AMSTERDAM)
    assert reading.grid_w == -543
    assert reading.phases_w == (-676, 133, 0)
    assert reading.import_kwh == pytest.approx(13779.338)
    assert reading.meter_time == datetime(2024, 6, 28, 12, 12, 34, tzinfo=UTC)  # 14:12:34 CEST


@pytest.mark.parametrize(
    ("name", "version", "grid_w", "phases", "meter_time", "import_kwh", "export_kwh"),
    [
        (
            "v5.txt",
            "5",
            244.0,
            (70.0, 32.0, 142.0),
            datetime(2017, 1, 2, 18, 20, 2, tzinfo=UTC),
            6.825,
            2.444,
        ),
        (
            "v4_2.txt",
            "4",
            2027.0,
            (170.0, 1247.0, 209.0),
            datetime(2016, 11, 13, 19, 57, 57, tzinfo=UTC),
            3016.829,
            0.0,
        ),
        (
            "fluvius_v171.txt",
            "5B",
            0.0,
            (0.0, 0.0, 0.0),
            datetime(2020, 5, 12, 11, 54, 9, tzinfo=UTC),
            15.792,
            0.011,
        ),
        ("v2_2.txt", "2.2", 1010.0, None, None, 2.002, 2.002),
    ],
)
def test_dsmr_parser_fixture_telegrams(
    name: str,
    version: str,
    grid_w: float,
    phases: tuple[float, ...] | None,
    meter_time: datetime | None,
    import_kwh: float,
    export_kwh: float,
) -> None:
    text = fixture_text("dsmr", name)
    telegram = TelegramParser(specification_for(version), apply_checksum_validation=True).parse(text)
    reading = telegram_to_reading(telegram, START)
    assert reading.grid_w == pytest.approx(grid_w)
    assert reading.phases_w == (pytest.approx(phases) if phases else None)
    assert reading.meter_time == meter_time
    assert reading.import_kwh == pytest.approx(import_kwh)
    assert reading.export_kwh == pytest.approx(export_kwh)


def test_homewizard_telegram_time_helper() -> None:
    assert telegram_time(fixture_text("dsmr", "v5.txt")) == datetime(2017, 1, 2, 18, 20, 2, tzinfo=UTC)
    assert telegram_time(fixture_text("dsmr", "v2_2.txt")) is None


class _SocketSource:
    """A real socket pair as the byte source (the far end plays the gateway)."""

    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()

    def read(self, wait_s: float) -> bytes:
        self.ours.settimeout(max(wait_s, 0.001))
        chunks = []
        try:
            while True:
                data = self.ours.recv(65536)
                if not data:
                    if not chunks:
                        raise DeviceUnreachable("closed")
                    break
                chunks.append(data)
                self.ours.settimeout(0.001)
        except TimeoutError:
            pass
        return b"".join(chunks)

    def close(self) -> None:
        self.ours.close()
        self.theirs.close()


def test_dsmr_drains_stream_resyncs_and_acts_on_newest(clock: ManualClock) -> None:
    source = _SocketSource()
    meter = DsmrMeter(source, clock=clock, dsmr_version="5", wait_s=0.05)
    v5 = fixture_text("dsmr", "v5.txt").encode()
    older = fixture_text("dsmr", "v5.txt").replace("170102192002W", "170102192001W")
    older_bytes = older.encode()  # CRC now wrong: skipped if it were the newest
    # A partial telegram (joined mid-stream), an old one, then the newest: act on the newest only.
    source.theirs.sendall(v5[len(v5) // 2 :] + older_bytes + v5)
    reading = meter.read()
    assert reading is not None and reading.meter_time == datetime(2017, 1, 2, 18, 20, 2, tzinfo=UTC)
    assert meter.skipped == 1
    # The same telegram again is a repeat (same meter time), not new data.
    source.theirs.sendall(v5)
    assert meter.read() is None
    # Only a corrupt telegram: a typed error, and the next good one recovers.
    source.theirs.sendall(older_bytes)
    with pytest.raises(InvalidPayload):
        meter.read()
    source.theirs.sendall(v5)
    assert meter.read() is None  # valid again (a repeat of the newest, so no new data)
    source.close()


@pytest.mark.parametrize(
    ("document", "path", "expected"),
    [
        ({"power": {"total": 12}}, "power.total", 12),
        ({"data": [{"power": 1}, {"power": 2}]}, "data/[1]/power", 2),
        ({"emeters": [{"power": 5}]}, "emeters.0.power", 5),
    ],
)
def test_json_path_extraction(document: dict, path: str, expected: int) -> None:
    assert extract(json.loads(json.dumps(document)), path) == expected


def test_json_path_missing_part_is_named() -> None:
    with pytest.raises(InvalidPayload, match="'nope'"):
        extract({"a": 1}, "nope")
