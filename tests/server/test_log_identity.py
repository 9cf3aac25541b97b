"""Log identity: a site's history spans several logs; each is keyed by its id; old data is migrated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from controller.domain.events import MeterReading
from storage.database import create_db_engine, sqlite_url
from storage.event_log import EventLog
from storage.migrate import alembic_config, upgrade
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.sites import create_site
from storage.server.tables import SITE_EVENTS, SITE_LOGS

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
FIRST = "a" * 32
SECOND = "b" * 32


def _meters(first: int, last: int, offset_s: int = 0) -> list[IngestEvent]:
    return [
        IngestEvent(
            seq, T0 + timedelta(seconds=offset_s + seq), "meter_reading", {"grid_w": float(seq)}, 1, "t"
        )
        for seq in range(first, last + 1)
    ]


def test_a_reinstalled_log_starting_at_seq_1_is_stored_in_full(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade(engine)
    site, _token = create_site(engine, "home", T0)
    try:
        assert ingest_events(engine, site, _meters(1, 80), log_id=FIRST).highest_contiguous_seq == 80
        again = ingest_events(engine, site, _meters(1, 80, offset_s=3600), log_id=SECOND)
        assert (again.stored, again.highest_contiguous_seq) == (80, 80)
        assert ingest_events(engine, site, _meters(1, 80, offset_s=3600), log_id=SECOND).stored == 0
        with engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(SITE_EVENTS)).scalar()
            logs = connection.execute(select(SITE_LOGS.c.log_id, SITE_LOGS.c.ingested_seq)).all()
        assert total == 160
        assert sorted((str(a), int(b)) for a, b in logs) == [(FIRST, 80), (SECOND, 80)]
    finally:
        engine.dispose()


def test_events_before_an_identity_go_to_the_legacy_log(database_url: str) -> None:
    engine = create_db_engine(database_url)
    upgrade(engine)
    site, _token = create_site(engine, "home", T0)
    try:
        assert ingest_events(engine, site, _meters(1, 10)).highest_contiguous_seq == 10  # an old daemon
        # the same daemon after its upgrade: identity from seq 13; 11 and 12 were not sent yet
        reply = ingest_events(engine, site, _meters(9, 15), log_id=FIRST, first_seq=13)
        assert (reply.stored, reply.highest_contiguous_seq) == (5, 15)  # 9, 10 known; 11, 12 legacy; 13-15
        with engine.connect() as connection:
            total = connection.execute(select(func.count()).select_from(SITE_EVENTS)).scalar()
        assert total == 15
    finally:
        engine.dispose()


def test_the_event_log_keeps_its_identity_and_a_new_database_gets_a_new_one(tmp_path: Path) -> None:
    path = tmp_path / "daemon.db"
    log = EventLog.open_sqlite(path)
    first = log.identity()
    log.append(MeterReading(at=T0, grid_w=1.0))
    log.close()
    assert first.first_seq == 1 and len(first.log_id) == 32
    reopened = EventLog.open_sqlite(path)
    assert reopened.identity() == first
    reopened.close()
    for leftover in tmp_path.glob("daemon.db*"):
        leftover.unlink()
    fresh = EventLog.open_sqlite(path)
    assert fresh.identity().log_id != first.log_id
    fresh.close()


def test_an_existing_log_gets_an_identity_after_its_last_event(tmp_path: Path) -> None:
    path = tmp_path / "daemon.db"
    log = EventLog.open_sqlite(path)
    log.append_many([MeterReading(at=T0 + timedelta(seconds=i), grid_w=1.0) for i in range(3)])
    with log.engine.begin() as connection:
        connection.exec_driver_sql("DELETE FROM log_identity")  # as a log from before identities
    log.close()
    upgraded = EventLog.open_sqlite(path)
    assert upgraded.identity().first_seq == 4
    upgraded.close()


def test_migration_moves_existing_events_into_each_sites_legacy_log(tmp_path: Path) -> None:
    from alembic import command

    url = sqlite_url(tmp_path / "server.db")
    engine = create_db_engine(url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0002_server")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO sites (id, name, created_at, ingested_seq) VALUES (1, 'home', 0, 3)"
        )
        for seq in (1, 2, 3, 5):
            connection.exec_driver_sql(
                "INSERT INTO site_events (site_id, seq, at, kind, payload, schema_version, software_version) "
                f"VALUES (1, {seq}, {seq}, 'meter_reading', '{{}}', 1, 'old')"
            )
    upgrade(engine)
    try:
        from storage.server.services.sites import get_site

        site = get_site(engine, "home")
        with engine.connect() as connection:
            logs = connection.execute(select(SITE_LOGS.c.log_id, SITE_LOGS.c.ingested_seq)).all()
        assert [(str(a), int(b)) for a, b in logs] == [("", 3)]
        # an old daemon re-sends 3 and sends 4: nothing is duplicated, the cursor moves over 5 too
        reply = ingest_events(engine, site, _meters(3, 4))
        assert (reply.stored, reply.highest_contiguous_seq) == (1, 5)
    finally:
        engine.dispose()
