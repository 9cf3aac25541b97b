"""A full disk: the daemon keeps controlling, keeps the events it could not write, and writes them once it
can again. The disk is a real, small tmpfs that the test fills up (skipped where mounting is not allowed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from controller.domain.events import CommandIssued, MeterReading, ScheduleLoaded, Ticked
from storage.event_log import EventLog
from tests.daemon._small_disk import fill, small_tmpfs
from tests.daemon.conftest import START, Site
from tests.daemon.test_control_loop import make_loop, run, schedule, slot


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    with small_tmpfs(tmp_path / "disk", "8m", "zsm-test-disk") as disk:
        yield disk


def test_disk_full_keeps_controlling_and_loses_nothing(site: Site, small_disk: Path) -> None:
    log = EventLog.open_sqlite(small_disk / "daemon.db", site_id="test")
    loop = make_loop(site, log)
    run(loop, site, 60, [ScheduleLoaded(at=START, source="test", schedule=schedule(slot("netzero", 0, 30)))])

    filler = fill(small_disk)  # the disk is full from now on
    run(loop, site, 120)
    assert loop.unsaved > 50, "events wait in memory"
    full_count = log.count()
    run(loop, site, 10)
    assert log.count() == full_count, "nothing more fits"
    # a new schedule arrives while the disk is full: charge now; the battery must follow it
    recharge = schedule(slot("charge", 0, 30, power_w=500))
    run(loop, site, 60, [ScheduleLoaded(at=site.clock.now(), source="test", schedule=recharge)])
    assert site.home.battery.battery_w < -400, "the battery follows the new command"
    assert loop.core.state == "Charging", "control went on"

    filler.unlink()  # space again
    run(loop, site, 5)
    assert loop.unsaved == 0
    events = [s.event for s in log.iter_events()]
    ticks = [e for e in events if isinstance(e, Ticked)]
    assert len(ticks) == (1 + 60) + (1 + 120) + (1 + 10) + (1 + 60) + (1 + 5), (
        "every tick written exactly once"
    )
    assert [e.at for e in ticks] == sorted(e.at for e in ticks), "in order"
    meter = [e for e in events if isinstance(e, MeterReading)]
    assert len(meter) >= 250
    charges = [e for e in events if isinstance(e, CommandIssued) and e.command.kind == "charge"]
    assert charges, "the command decided while the disk was full is in the log now"
    log.close()
