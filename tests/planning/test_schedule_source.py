"""The daemon's local planner: the person's schedule file plus a plan from prices served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.clock import ManualClock
from controller.daemon.schedule_source import FileScheduleSource
from controller.domain.events import BatteryReading, MeterReading
from controller.planning.schedule_source import PlanningScheduleSource
from controller.prices import energyzero
from controller.settings import Settings
from controller.simulation.devices.price_server import PriceServer
from storage.event_log import EventLog

PRICES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "prices"
NOW = datetime(2025, 12, 15, 23, 0, tzinfo=UTC)
PERSON = {
    "timezone": "Europe/Amsterdam",
    "dated": [{"id": "mine", "start": "2025-12-16T08:00", "end": "2025-12-16T09:00", "mode": "standby"}],
}


@pytest.fixture
def server() -> Iterator[PriceServer]:
    running = PriceServer(energyzero.parse((PRICES / "energyzero_hour_2025-12-16.json").read_bytes())).start()
    yield running
    running.stop()


def make_log(path: Path, soc: float) -> None:
    log = EventLog.open_sqlite(path, site_id="home")
    events = []
    for minute in range(0, 3 * 24 * 60, 15):
        at = NOW - timedelta(days=3) + timedelta(minutes=minute)
        events.append(BatteryReading(at=at, soc_pct=soc, battery_w=0))
        events.append(
            MeterReading(at=at + timedelta(seconds=1), grid_w=800.0 if 16 <= at.hour < 20 else 200.0)
        )
    log.append_many(events)
    log.close()


def add_soc(path: Path, at: datetime, soc: float) -> None:
    log = EventLog.open_sqlite(path, site_id="home")
    log.append(BatteryReading(at=at, soc_pct=soc, battery_w=0))
    log.close()


def source_for(tmp_path: Path, server: PriceServer, clock: ManualClock) -> PlanningScheduleSource:
    schedule_file = tmp_path / "schedule.json"
    schedule_file.write_text(json.dumps(PERSON))
    settings = Settings(
        database_path=tmp_path / "zsm.db",
        prices={"source": "json", "url": f"{server.url}/json"},  # type: ignore[arg-type]
        planner={"enabled": True},  # type: ignore[arg-type]
    )
    return PlanningScheduleSource(FileScheduleSource(schedule_file), settings, clock)


def test_plans_around_the_persons_slot_and_logs_the_prices(tmp_path: Path, server: PriceServer) -> None:
    make_log(tmp_path / "zsm.db", 40)
    clock = ManualClock(NOW)
    source = source_for(tmp_path, server, clock)
    fetched = source.fetch(None)
    assert fetched.body is not None
    ids = [slot["id"] for slot in fetched.body["dated"]]
    assert "mine" in ids and any(i.startswith("plan-") for i in ids)
    assert len(source.events) == 1 and source.events[0].kind == "prices_received"
    assert source.fetch(fetched.etag).body is None  # nothing new: no new document

    server.status = 503  # the price source goes down: the plan stays
    clock.advance(2 * 3600)
    assert source.fetch(fetched.etag).body is None

    add_soc(tmp_path / "zsm.db", clock.now(), 95)  # far off the plan: plan again
    replanned = source.fetch(fetched.etag)
    assert replanned.body is not None and replanned.etag != fetched.etag


def test_without_prices_the_persons_schedule_is_served_alone(tmp_path: Path, server: PriceServer) -> None:
    make_log(tmp_path / "zsm.db", 40)
    server.status = 500
    source = source_for(tmp_path, server, ManualClock(NOW))
    fetched = source.fetch(None)
    assert fetched.body == PERSON
    assert source.events == []


def test_the_daemons_worker_logs_the_prices_and_loads_the_plan(tmp_path: Path, server: PriceServer) -> None:
    from controller.daemon.server_worker import ServerWorker
    from controller.domain.events import PricesReceived, ScheduleLoaded
    from controller.settings import LimitSettings

    make_log(tmp_path / "zsm.db", 40)
    clock = ManualClock(NOW)
    worker = ServerWorker(
        clock=clock,
        limits=LimitSettings(),
        schedule_source=source_for(tmp_path, server, clock),
        schedule_interval_s=300,
        forwarder=None,
        client=None,
        status_interval_s=60,
        status=lambda: None,  # type: ignore[arg-type,return-value]
    )
    worker.run_round()
    kinds = [type(event) for event in worker.drain()]
    assert kinds == [PricesReceived, ScheduleLoaded]


def test_prices_are_asked_again_soon_while_few_hours_are_known(tmp_path: Path) -> None:
    few = energyzero.parse((PRICES / "energyzero_hour_2025-12-16.json").read_bytes())[:6]
    running = PriceServer(few).start()
    try:
        make_log(tmp_path / "zsm.db", 40)
        clock = ManualClock(NOW)
        source = source_for(tmp_path, running, clock)
        source.fetch(None)
        asked = len(running.requests)
        clock.advance(10 * 60)
        source.fetch(None)
        assert len(running.requests) == asked  # not yet
        clock.advance(6 * 60)
        source.fetch(None)
        assert len(running.requests) == asked + 1  # 16 min later, with only 6 h known
    finally:
        running.stop()
