"""A full disk: the daemon keeps controlling, keeps the events it could not write, and writes them once it
can again (SQLite's own 'database or disk is full', produced with ``PRAGMA max_page_count``)."""

from __future__ import annotations

from pathlib import Path

from controller.domain.events import CommandIssued, MeterReading, ScheduleLoaded, Ticked
from storage.event_log import EventLog
from tests.daemon.conftest import START, Site
from tests.daemon.test_control_loop import make_loop, run, schedule, slot


def _limit_pages(log: EventLog, pages: int | None) -> None:
    with log.engine.connect() as conn:
        if pages is None:
            conn.exec_driver_sql("PRAGMA max_page_count = 1073741823")
        else:
            conn.exec_driver_sql(f"PRAGMA max_page_count = {pages}")


def test_disk_full_keeps_controlling_and_loses_nothing(site: Site, tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="test")
    # one connection, so the page limit (a per-connection setting) applies to every write
    log.engine.pool.dispose()
    loop = make_loop(site, log)
    plan = schedule(slot("netzero", 0, 30))
    run(loop, site, 60, [ScheduleLoaded(at=START, source="test", schedule=plan)])

    with log.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar_one())
    _limit_pages(log, pages)  # the "disk" is full from now on
    run(loop, site, 60)
    # a new schedule arrives while the disk is full: charge now; the battery must follow it
    recharge = schedule(slot("charge", 0, 30, power_w=500))
    run(loop, site, 120, [ScheduleLoaded(at=site.clock.now(), source="test", schedule=recharge)])
    assert site.home.battery.battery_w < -400, "the battery follows the new command"
    assert loop.unsaved > 100, "events wait in memory"
    full_count = log.count()
    run(loop, site, 10)
    assert log.count() == full_count, "nothing more fits"
    assert loop.core.state == "Charging", "control went on"

    _limit_pages(log, None)  # space again
    run(loop, site, 5)
    assert loop.unsaved == 0
    events = [s.event for s in log.iter_events()]
    ticks = [e for e in events if isinstance(e, Ticked)]
    assert len(ticks) == (1 + 60) + (1 + 60) + (1 + 120) + (1 + 10) + (1 + 5), (
        "every tick written exactly once"
    )
    assert [e.at for e in ticks] == sorted(e.at for e in ticks), "in order"
    meter = [e for e in events if isinstance(e, MeterReading)]
    assert len(meter) >= 240
    charges = [e for e in events if isinstance(e, CommandIssued) and e.command.kind == "charge"]
    assert charges, "the command decided while the disk was full is in the log now"
