"""A command the battery accepted but dropped (an external outputLimit 0, an acMode revert) is sent again
while it is still wanted, within the write budget; and a slot boundary costs one write per tick (issue 13)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import requests

from controller.domain.commands import Command
from controller.domain.events import BatteryReading, ScheduleLoaded
from controller.domain.resend import MIN_RESEND_INTERVAL_S, ResendGuard, disagrees
from controller.simulation.devices.zendure_server import ZendureFaults
from storage.event_log import EventLog
from tests.daemon.conftest import START, Site
from tests.daemon.test_control_loop import make_loop, run, schedule, slot


def external_write(site: Site, **properties: int) -> None:
    """What the vendor app (or another integration) does: a write of its own over the LAN API."""
    reply = requests.post(
        f"{site.zendure.url}/properties/write",
        json={"sn": site.zendure.sn, "properties": properties},
        timeout=5,
    )
    assert reply.ok


def test_an_external_output_limit_of_zero_is_overwritten_while_the_slot_wants_discharge(
    site: Site, tmp_path: Path
) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    plan = schedule(slot("discharge", 0, 30, power_w=300))
    run(loop, site, 60, [ScheduleLoaded(at=START, source="test", schedule=plan)])
    assert site.zendure.settings.outputLimit == 300
    writes_before = len(site.zendure.writes)

    external_write(site, outputLimit=0)
    run(loop, site, 8)
    assert site.zendure.settings.outputLimit == 0, "not at once: three reports must disagree"
    run(loop, site, 60)
    assert site.zendure.settings.outputLimit == 300
    assert site.home.battery.battery_w > 250
    ours = len(site.zendure.writes) - writes_before - 1
    assert 1 <= ours <= 80 / MIN_RESEND_INTERVAL_S, f"{ours} re-sends: within the write budget"


def test_an_ac_mode_revert_is_undone(tmp_path: Path, site: Site) -> None:
    site.zendure.faults = ZendureFaults(ac_mode_revert_s=5.0)
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    plan = schedule(slot("charge", 0, 30, power_w=400))
    run(loop, site, 15, [ScheduleLoaded(at=START, source="test", schedule=plan)])
    site.zendure.faults = ZendureFaults()  # the relay reverted once; the next write sticks
    run(loop, site, 60)
    assert site.zendure.settings.acMode == 1
    assert site.home.battery.battery_w < -300


def test_a_standing_battery_at_its_cutoff_is_not_pestered() -> None:
    guard = ResendGuard()
    guard.written(Command.discharge(500), START)
    for s in range(15, 120, 5):
        at = START + timedelta(seconds=s)
        guard.observe(BatteryReading(at=at, soc_pct=5.0, battery_w=0.0, soc_limit=2))
        assert guard.due(at) is None


def test_disagreement_needs_three_reports_after_settling() -> None:
    guard = ResendGuard()
    guard.written(Command.charge(600), START)
    dropped = [
        BatteryReading(at=START + timedelta(seconds=s), soc_pct=50, battery_w=0.0) for s in (5, 12, 17)
    ]
    for reading in dropped:
        guard.observe(reading)
    assert guard.due(START + timedelta(seconds=25)) is None, "the report at 5 s is before the write settled"
    guard.observe(BatteryReading(at=START + timedelta(seconds=22), soc_pct=50, battery_w=-580.0))
    guard.observe(BatteryReading(at=START + timedelta(seconds=27), soc_pct=50, battery_w=0.0))
    assert guard.due(START + timedelta(seconds=30)) is None, "a following report resets the count"
    assert disagrees(Command.charge(600), BatteryReading(at=START, soc_pct=50, battery_w=-590.0, ac_mode=2))
    assert not disagrees(Command.standby(), BatteryReading(at=START, soc_pct=50, battery_w=300.0))


def test_a_slot_boundary_is_one_write_per_tick(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    plan = schedule(slot("netzero", 0, 2), slot("charge", 2, 10, power_w=600))
    run(loop, site, 5 * 60, [ScheduleLoaded(at=START, source="test", schedule=plan)])
    times = [w.at for w in site.zendure.writes]
    assert len(times) == len(set(times)), "two writes at one instant: one tick sent two commands"
