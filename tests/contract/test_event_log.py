"""Contract tests of the event log, run against a SQLite file and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandIssued, MeterReading, StateChanged
from controller.domain.upcasting import register_upcaster
from storage.database import sqlite_url
from storage.event_log import EventLog, EventLogError

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgres"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EventLog]:
    if request.param == "sqlite":
        url = sqlite_url(tmp_path / "events.db")
    else:
        url = request.getfixturevalue("postgres_url")
    event_log = EventLog.open(url, site_id="test-site")
    yield event_log
    event_log.close()


def meter(i: int, grid_w: float = 100.0) -> MeterReading:
    return MeterReading(
        at=T0 + timedelta(seconds=i), grid_w=grid_w + i, meter_time=T0 + timedelta(seconds=i - 20)
    )


def test_append_returns_increasing_seq_and_reads_back_in_order(log: EventLog) -> None:
    first = log.append(meter(0))
    rest = log.append_many([meter(i) for i in range(1, 10)])
    assert [first, *rest] == list(range(first, first + 10))
    stored = log.read_after(0, limit=100)
    assert [s.seq for s in stored] == [first, *rest]
    assert [s.event for s in stored] == [meter(i) for i in range(10)]
    assert all(s.site_id == "test-site" and s.software_version for s in stored)
    assert log.last_seq() == rest[-1]


def test_read_after_cursor_and_limit(log: EventLog) -> None:
    seqs = log.append_many([meter(i) for i in range(25)])
    page1 = log.read_after(0, limit=10)
    page2 = log.read_after(page1[-1].seq, limit=10)
    page3 = log.read_after(page2[-1].seq, limit=10)
    assert [s.seq for s in page1 + page2 + page3] == seqs
    assert len(page3) == 5
    assert log.read_after(seqs[-1]) == []


def test_time_range_is_half_open_and_filterable(log: EventLog) -> None:
    log.append_many([meter(i) for i in range(10)])
    log.append(
        StateChanged(
            at=T0 + timedelta(seconds=5),
            from_state="Standby",
            to_state="NetZero",
            trigger="slot_started",
            reason="slot netzero",
        )
    )
    window = log.read_range(T0 + timedelta(seconds=3), T0 + timedelta(seconds=6))
    assert [s.event.at for s in window] == [T0 + timedelta(seconds=s) for s in (3, 4, 5, 5)]
    only_state = log.read_range(T0, T0 + timedelta(hours=1), kinds=["state_changed"])
    assert [s.kind for s in only_state] == ["state_changed"]


def test_stream_iterates_everything_in_order(log: EventLog) -> None:
    log.append_many([meter(i) for i in range(1234)])
    streamed = list(log.iter_events(batch=100))
    assert len(streamed) == 1234
    assert [s.seq for s in streamed] == sorted(s.seq for s in streamed)


def _poison_inserts(log: EventLog) -> None:
    """Make the database itself refuse a row whose grid value is 666 W (a failure in mid-batch)."""
    with log.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.payload LIKE '%666.0%' "
                "BEGIN SELECT RAISE(ABORT, 'poisoned row'); END"
            )
        else:
            conn.exec_driver_sql(
                "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF strpos(NEW.payload, '666.0') > 0 THEN RAISE EXCEPTION 'poisoned row'; END IF; "
                "RETURN NEW; END $$"
            )
            conn.exec_driver_sql(
                "CREATE TRIGGER poison BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION poison()"
            )


def test_batch_is_atomic(log: EventLog) -> None:
    log.append(meter(0))
    _poison_inserts(log)
    before = log.last_seq()
    with pytest.raises(EventLogError, match="poisoned row"):
        log.append_many([meter(1), meter(2), meter(0, grid_w=666.0), meter(3)])
    assert log.last_seq() == before
    assert log.count() == 1
    log.append_many([meter(4), meter(5)])
    assert log.count() == 3


def test_naive_times_are_refused(log: EventLog) -> None:
    bad = meter(2).model_copy(update={"at": datetime(2026, 1, 1)})  # bypasses validation on purpose
    with pytest.raises(EventLogError, match="naive"):
        log.append_many([meter(1), bad])
    assert log.count() == 0


def test_non_events_are_refused(log: EventLog) -> None:
    with pytest.raises(EventLogError):
        log.append_many([meter(1), "not an event"])  # type: ignore[list-item]
    assert log.count() == 0


def test_nested_models_round_trip(log: EventLog) -> None:
    issued = CommandIssued(
        at=T0,
        command=Command.discharge(420),
        state="NetZero",
        reason="regulator",
        inputs={"meter_w": 380.5, "lag_s": 20, "slot": "netzero", "stale": False},
    )
    battery = BatteryReading(at=T0, soc_pct=55, battery_w=-300, max_charge_w=1000, soc_limit=0)
    log.append_many([issued, battery])
    assert [s.event for s in log.read_after(0)] == [issued, battery]


def _insert_raw(log: EventLog, kind: str, payload: str, schema_version: int = 1) -> None:
    with log.engine.begin() as conn:
        conn.execute(
            sa.text("INSERT INTO event_kinds (name) VALUES (:kind) ON CONFLICT DO NOTHING"), {"kind": kind}
        )
        conn.execute(
            sa.text(
                "INSERT INTO events (at, kind_id, payload, site_id, schema_version, software_version) "
                "SELECT :at, id, :payload, 'test-site', :v, '99.0.0' FROM event_kinds WHERE name = :kind"
            ),
            {"at": 1_795_500_000_000, "kind": kind, "payload": payload, "v": schema_version},
        )


def test_unknown_kinds_are_kept_and_skipped(log: EventLog) -> None:
    log.append(meter(0))
    _insert_raw(log, "quantum_flux_measured", '{"flux":1}')
    log.append(meter(1))
    decoded = log.read_after(0)
    assert [s.kind for s in decoded] == ["meter_reading", "meter_reading"]
    raw = log.read_raw_after(0)
    assert [r.kind for r in raw] == ["meter_reading", "quantum_flux_measured", "meter_reading"]
    assert raw[1].payload == {"flux": 1}
    assert len(list(log.iter_events())) == 2


def test_old_payload_shapes_are_upcast_on_read(log: EventLog, monkeypatch: pytest.MonkeyPatch) -> None:
    # Pretend meter_reading is at schema v2, where v1 called the field "power_w".
    monkeypatch.setattr(MeterReading, "schema_version", 2)

    @register_upcaster("meter_reading", 1)
    def _rename(payload: dict[str, object]) -> dict[str, object]:
        payload = dict(payload)
        payload["grid_w"] = payload.pop("power_w")
        return payload

    _insert_raw(log, "meter_reading", '{"power_w":321.5}', schema_version=1)
    [stored] = log.read_after(0)
    assert isinstance(stored.event, MeterReading)
    assert stored.event.grid_w == 321.5
    assert stored.schema_version == 1


def test_update_and_delete_are_refused(log: EventLog) -> None:
    log.append(meter(0))
    for statement in ("UPDATE events SET payload = '{}'", "DELETE FROM events"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"), log.engine.begin() as conn:
            conn.exec_driver_sql(statement)
    assert log.count() == 1


def test_two_writers_share_kind_ids(log: EventLog) -> None:
    other = EventLog(log.engine, site_id="test-site")
    log.append(meter(0))
    other.append(StateChanged(at=T0, from_state="Standby", to_state="Charging", trigger="slot", reason="r"))
    log.append(StateChanged(at=T0, from_state="Charging", to_state="Standby", trigger="slot", reason="r"))
    assert [s.kind for s in log.read_after(0)] == ["meter_reading", "state_changed", "state_changed"]
    assert [s.kind for s in other.read_after(0)] == ["meter_reading", "state_changed", "state_changed"]


def test_the_api_has_no_update_or_delete() -> None:
    public = {name for name in dir(EventLog) if not name.startswith("_")}
    assert not {name for name in public if any(w in name for w in ("update", "delete", "remove", "truncate"))}


def test_head_revision_read_from_files_matches_alembic() -> None:
    from alembic.script import ScriptDirectory

    from storage.migrate import alembic_config, head_revision

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
