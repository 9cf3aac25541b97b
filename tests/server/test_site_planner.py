"""The server plans chosen sites from their own telemetry and prices served on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from controller.clock import ManualClock
from controller.domain.events import BatteryReading, MeterReading
from controller.prices import energyzero
from controller.settings import Settings
from controller.simulation.devices.price_server import PriceServer
from storage.database import create_db_engine
from storage.migrate import upgrade
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.schedules import current_schedule, put_schedule
from storage.server.services.sites import SiteRef, create_site
from storage.server.site_planner import SitePlanner

PRICES = Path(__file__).resolve().parents[1] / "fixtures" / "prices"
NOW = datetime(2025, 12, 15, 23, 0, tzinfo=UTC)


@pytest.fixture
def server() -> Iterator[PriceServer]:
    running = PriceServer(energyzero.parse((PRICES / "energyzero_hour_2025-12-16.json").read_bytes())).start()
    yield running
    running.stop()


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    db = create_db_engine(f"sqlite+pysqlite:///{tmp_path / 'server.db'}")
    upgrade(db)
    yield db
    db.dispose()


def feed(engine: Engine, site: SiteRef) -> None:
    events = []
    seq = 0
    for minute in range(0, 7 * 24 * 60, 10):
        at = NOW - timedelta(days=7) + timedelta(minutes=minute)
        for event in (
            BatteryReading(at=at, soc_pct=40, battery_w=100),
            MeterReading(at=at + timedelta(seconds=1), grid_w=800.0 if 16 <= at.hour < 20 else 100.0),
        ):
            seq += 1
            events.append(IngestEvent(seq, event.at, event.kind, event.model_dump(mode="json"), 1, "test"))
    for start in range(0, len(events), 2000):
        ingest_events(engine, site, events[start : start + 2000])


def planner(engine: Engine, server: PriceServer, clock: ManualClock, sites: tuple[str, ...]) -> SitePlanner:
    settings = Settings(prices={"source": "json", "url": f"{server.url}/json"})  # type: ignore[arg-type]
    return SitePlanner(engine, settings, clock, sites)


def test_a_site_is_planned_from_its_telemetry_and_a_persons_slot_survives(
    engine: Engine, server: PriceServer
) -> None:
    clock = ManualClock(NOW)
    site, _token = create_site(engine, "home", NOW)
    feed(engine, site)
    person = {
        "timezone": "Europe/Amsterdam",
        "dated": [{"id": "mine", "start": "2025-12-16T18:00", "end": "2025-12-16T19:00", "mode": "standby"}],
    }
    put_schedule(engine, site, person, current_schedule(engine, site).etag, "alice", NOW)
    site_planner = planner(engine, server, clock, ("home", "nowhere"))

    outcome = site_planner.run_once()
    assert outcome["home"] == "version 2"
    assert outcome["nowhere"].startswith("error")  # an unknown site does not stop the others
    doc = current_schedule(engine, site)
    assert doc.author == "zsm plan"
    ids = [slot["id"] for slot in doc.body["dated"]]
    assert "mine" in ids and any(i.startswith("plan-") for i in ids)
    assert any(slot["mode"] == "netzero" for slot in doc.body["dated"])

    assert site_planner.run_once()["home"] == "unchanged"  # same inputs: no new version


def test_without_telemetry_or_prices_nothing_is_written(engine: Engine, server: PriceServer) -> None:
    site, _token = create_site(engine, "empty", NOW)
    assert planner(engine, server, ManualClock(NOW), ("empty",)).run_once()["empty"].startswith("error")
    server.status = 503
    feed(engine, site)
    assert planner(engine, server, ManualClock(NOW), ("empty",)).run_once()["empty"] == "error: no prices"
    assert current_schedule(engine, site).version == 0


def test_the_app_runs_the_planner_for_its_plan_sites(tmp_path: Path, server: PriceServer) -> None:
    import threading

    from fastapi.testclient import TestClient

    from storage.server.app import create_app
    from storage.server.config import ServerConfig

    url = f"sqlite+pysqlite:///{tmp_path / 'app.db'}"
    db = create_db_engine(url)
    upgrade(db)
    site, _token = create_site(db, "home", NOW)
    feed(db, site)
    settings = Settings(prices={"source": "json", "url": f"{server.url}/json"})  # type: ignore[arg-type]
    config = ServerConfig(database_url=url, plan_sites=("home",), planner_settings=settings)
    app = create_app(config, clock=ManualClock(NOW))
    done = threading.Event()
    with TestClient(app):
        for _ in range(300):  # bounded wait for the planner thread's first round (a real thread, real HTTP)
            if current_schedule(db, site).version > 0:
                break
            done.wait(0.1)
    assert current_schedule(db, site).author == "zsm plan"
    db.dispose()
