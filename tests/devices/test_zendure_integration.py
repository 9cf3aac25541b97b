"""Our zenSDK client against our simulated device over real loopback HTTP, including every fault mode."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable

import pytest
import requests

from controller.clock import ManualClock
from controller.devices.errors import (
    ApiDisabled,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    PayloadTooLarge,
    WriteRejected,
)
from controller.devices.zendure_client import ZendureClient
from controller.devices.zendure_commands import StandbyStyle
from controller.domain.commands import Command
from controller.domain.events import CommandNotApplied, CommandResult, DeviceWriteCounted
from controller.simulation.devices.home import SimulatedHome
from controller.simulation.devices.zendure_server import ZendureFaults, ZendureServer

Start = Callable[[object], object]


def make(
    home: SimulatedHome, clock: ManualClock, started: Start, **faults: object
) -> tuple[ZendureServer, ZendureClient]:
    server = ZendureServer(home.battery_port, clock, faults=ZendureFaults(**faults))  # type: ignore[arg-type]
    started(server)
    client = ZendureClient(
        f"127.0.0.1:{server.port}", clock=clock, timeout_s=1.0, retries=1, retry_delay_s=0.1
    )
    return server, client


def test_report_is_text_html_and_parses(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server, client = make(home, clock, started)
    raw = requests.get(f"{server.url}/properties/report", timeout=2)
    assert raw.headers["Content-Type"] == "text/html"
    reading = client.read()
    assert reading.soc_pct == 50.0
    assert reading.max_discharge_w == 800 and reading.max_charge_w == 1000
    assert client.sn == server.sn


def test_discharge_follows_dead_time_and_ramp(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server, client = make(home, clock, started)
    outcome = client.apply(Command.discharge(600))
    assert outcome.accepted and outcome.applied
    assert [type(e) for e in outcome.events] == [CommandResult]
    clock.advance(1)
    assert client.read().battery_w == 0  # dead time 2 s
    clock.advance(2)
    assert 0 < client.read().battery_w < 600  # ramping at 400 W/s
    clock.advance(2)
    assert client.read().battery_w == 600
    assert server.writes[-1].body["properties"] == {
        "smartMode": 1,
        "acMode": 2,
        "outputLimit": 600,
        "inputLimit": 0,
    }


def test_start_threshold_keeps_small_setpoints_at_zero(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    _, client = make(home, clock, started)
    client.apply(Command.discharge(30))
    clock.advance(10)
    assert client.read().battery_w == 0


def test_soc_cutoffs_and_soc_limit(
    make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    home = make_home(soc_pct=10.5)
    _, client = make(home, clock, started)
    client.apply(Command.discharge(800))
    clock.advance(60)  # 800 W drains 0.5 % of 1.92 kWh in ~40 s
    reading = client.read()
    assert reading.soc_limit == 2 and reading.battery_w == 0

    full = make_home(soc_pct=99.9)
    server = ZendureServer(full.battery_port, clock, port=0)
    started(server)
    other = ZendureClient(f"127.0.0.1:{server.port}", clock=clock, timeout_s=1.0)
    other.apply(Command.charge(1000))
    clock.advance(30)
    reading = other.read()
    assert reading.soc_limit == 1 and reading.battery_w == 0


def test_relay_and_flash_counters_match_the_wear_events(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server, client = make(home, clock, started)
    events = []
    for command in (Command.charge(400), Command.discharge(300), Command.discharge(200), Command.charge(100)):
        events += client.apply(command).events
        clock.advance(5)
    client.standby = StandbyStyle.PERSIST
    events += client.apply(Command.standby()).events
    counted = [e for e in events if isinstance(e, DeviceWriteCounted)]
    assert sum(e.ac_mode_switch for e in counted) == server.relay_switches == 3
    assert sum(e.flash_write for e in counted) == server.flash_writes == 1
    assert client.wear.today().ac_mode_switches == 3
    # Standby keeps the relay where it is (acMode 1 after the last charge).
    assert server.writes[-1].body["properties"]["acMode"] == 1
    # The client only ever sends full property sets.
    assert all(
        set(w.body["properties"]) == {"smartMode", "acMode", "outputLimit", "inputLimit"}
        for w in server.writes
    )


def test_error_replies_are_exact_and_typed(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server, client = make(home, clock, started)
    url = f"{server.url}/properties/write"
    big = requests.post(url, data=b"{" + b" " * 600 + b"}", timeout=2)
    assert (big.status_code, big.json()) == (413, {"code": 413, "error": "Buffer overflow risk"})
    bad = requests.post(url, data=b"{not json", timeout=2)
    assert (bad.status_code, bad.json()) == (400, {"code": 400, "error": "Failed to parse JSON"})
    nosn = requests.post(url, data=json.dumps({"properties": {"acMode": 1}}), timeout=2)
    assert (nosn.status_code, nosn.json()) == (401, {"code": 401, "error": "SN does not match"})
    ok = requests.post(url, data=json.dumps({"sn": server.sn, "id": 3, "properties": {}}), timeout=2)
    assert ok.json()["success"] is True and ok.json()["code"] == 200
    with pytest.raises(DeviceUnauthorized):
        client.write_properties({"sn": "WRONG", "properties": {"acMode": 2}})
    with pytest.raises(PayloadTooLarge):
        client.write_properties({"sn": server.sn, "properties": {"x": "y" * 600}})
    response = client._request("POST", "/properties/write", b"{" + b" " * 600 + b"}")
    with pytest.raises(PayloadTooLarge):
        client._check_status(response, "write")
    rpc = requests.get(f"{server.url}/rpc?method=HA.Mqtt.GetStatus", timeout=2)
    assert rpc.json() == {"connected": False}


def test_tlv_failure_is_a_rejected_write(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    _, client = make(home, clock, started, tlv_failure=True)
    with pytest.raises(WriteRejected):
        client.write_properties(client.payload_for(Command.charge(100)))
    outcome = client.apply(Command.charge(100))
    assert not outcome.accepted
    result = outcome.events[0]
    assert isinstance(result, CommandResult) and not result.ok and "WriteRejected" in (result.error or "")


def test_cloud_pushed_zero_limit_blocks_output(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server, client = make(home, clock, started)
    server.inverse_max_power_w = 0  # the cloud pushed inverseMaxPower to 0 (ZHA#1568)
    reading = client.read()
    assert reading.max_discharge_w == 0
    outcome = client.apply(Command.discharge(500))
    assert outcome.payload["properties"]["outputLimit"] == 0  # clamped to the live limit: never out of range
    clock.advance(10)
    assert client.read().battery_w == 0


def test_api_disabled(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    _, client = make(home, clock, started, api_disabled=True)
    with pytest.raises(ApiDisabled, match="HEMS"):
        client.read()


def test_bare_writes_ignored_at_full_soc_until_a_full_command(
    make_home: Callable[..., SimulatedHome], clock: ManualClock, started: Start
) -> None:
    home = make_home(soc_pct=100.0)
    server, client = make(home, clock, started, ignore_bare_writes=True)
    client.read()
    client.write_properties({"sn": server.sn, "properties": {"outputLimit": 300}})
    assert server.settings.outputLimit == 0  # silently ignored (ZHA#1505)
    outcome = client.apply(Command.discharge(300))
    assert outcome.applied and server.settings.outputLimit == 300


def test_accepted_but_not_applied_when_ac_mode_reverts_at_once(
    home: SimulatedHome, clock: ManualClock, started: Start, caplog: pytest.LogCaptureFixture
) -> None:
    _, client = make(home, clock, started, ac_mode_revert_s=0.0)
    outcome = client.apply(Command.charge(500))
    assert outcome.accepted and not outcome.applied and outcome.pending
    assert not any(isinstance(e, CommandNotApplied) for e in outcome.events)  # the report may lag: not yet
    with caplog.at_level(logging.WARNING):
        late = [e for _ in range(client.confirm_reads - 2) for e in client.poll()]
        assert not any(isinstance(e, CommandNotApplied) for e in late) and client.confirming
        last = client.poll()  # the 7th read in all
    not_applied = [e for e in last if isinstance(e, CommandNotApplied)]
    assert len(not_applied) == 1
    assert "acMode=2" in not_applied[0].detail and "7 reads" in not_applied[0].detail
    assert "did not apply" in caplog.text and not client.confirming
    assert not any(isinstance(e, CommandNotApplied) for e in client.poll())  # reported once


def test_a_report_lagging_the_write_is_confirmed_by_later_reads_without_waiting(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    """Zendure's own client reads up to 7 times: a report that shows a write 3 reads late is not a failure,
    and confirming it never sleeps inside the control tick."""
    _, client = make(home, clock, started, stale_reports_after_write=3)
    client.read()
    before = clock.monotonic()
    outcome = client.apply(Command.discharge(300))
    assert clock.monotonic() == before  # no sleep: the next status reads do the confirming
    assert outcome.accepted and outcome.pending and not outcome.applied
    events = [e for _ in range(3) for e in client.poll()]
    assert not any(isinstance(e, CommandNotApplied) for e in events)
    assert not client.confirming  # the 4th read showed it


def test_ac_mode_reverting_later_is_reported_on_the_next_poll(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    _, client = make(home, clock, started, ac_mode_revert_s=2.5)
    assert client.apply(Command.charge(500)).applied
    clock.advance(3)
    events = client.poll()
    assert any(isinstance(e, CommandNotApplied) and "drifted" in e.detail for e in events)
    assert not any(isinstance(e, CommandNotApplied) for e in client.poll())  # reported once
    # Recovery: the device follows again after a re-send (the revert happens once per switch).
    clock.advance(5)
    assert client.apply(Command.charge(500)).applied


def test_slow_ramp_after_long_standby(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    _, client = make(home, clock, started, slow_ramp_after_standby_s=3600.0)
    clock.advance(3601)
    client.apply(Command.discharge(400))
    clock.advance(60)
    slow = client.read().battery_w
    assert 0 <= slow < 120  # 6.5 W per 5 s instead of 400 W/s
    client.apply(Command.standby())
    clock.advance(3)
    assert client.read().battery_w == 0  # 0 W applies at once


def test_periodic_reboot_is_unreachable_then_restores_flash(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    server, client = make(home, clock, started, reboot_every_s=660.0, reboot_down_s=30.0)
    assert client.apply(Command.discharge(300)).applied  # smartMode 1: RAM only
    clock.advance(661)
    with pytest.raises(DeviceUnreachable):
        client.read()
    clock.advance(30)
    events = client.poll()
    assert server.counters.reboots == 1
    assert server.settings.outputLimit == 0  # restored from flash
    assert any(isinstance(e, CommandNotApplied) for e in events)


def test_slow_and_timed_out_reads(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server, client = make(home, clock, started, read_delay_s=0.05)
    assert client.read().soc_pct == 50.0
    server.faults.read_delay_s = 0.6
    client.timeout_s = 0.2
    client.retries = 0
    with pytest.raises(DeviceTimeout):
        client.read()


def test_ac_mode_255_pass_2_and_misreported_soc_limit(
    home: SimulatedHome, clock: ManualClock, started: Start
) -> None:
    _, client = make(home, clock, started, ac_mode_255=True, pass_2=True, soc_limit_misreport=True)
    reading = client.read()
    assert reading.ac_mode == 255 and reading.fault == "acMode reported as 255"
    assert reading.soc_limit == 1  # misreported while SoC is 50 %


def test_one_request_in_flight_per_device(home: SimulatedHome, clock: ManualClock, started: Start) -> None:
    server, client = make(home, clock, started, refuse_concurrent=True, read_delay_s=0.01)
    other = ZendureClient(f"127.0.0.1:{server.port}", clock=clock, timeout_s=2.0, retries=0)
    errors: list[Exception] = []

    def hammer(c: ZendureClient) -> None:
        for _ in range(5):
            try:
                c.read()
            except Exception as err:  # noqa: BLE001 - collected for the assertion
                errors.append(err)

    threads = [threading.Thread(target=hammer, args=(c,)) for c in (client, other, client, other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []


def test_unreachable_device(clock: ManualClock) -> None:
    client = ZendureClient("127.0.0.1:9", clock=clock, timeout_s=0.5, retries=1, retry_delay_s=0.1)
    with pytest.raises(DeviceUnreachable):
        client.read()
    outcome = client.apply(Command.charge(100))
    assert not outcome.accepted and "DeviceUnreachable" in (outcome.events[0].error or "")  # type: ignore[union-attr]
