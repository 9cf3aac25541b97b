"""The daemon's SQLite event log without SQLAlchemy: what is synced when, and migrations kept out of the
long-running process."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.domain.commands import Command
from controller.domain.events import CommandIssued, MeterReading, Ticked
from storage.event_log import EventLog
from storage.migrate import head_revision, sqlite_revision

T0 = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


def test_decisions_are_synced_at_once_readings_at_the_next_sync(tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="home")
    assert not log.unsynced  # the log's identity was committed (synced) at open
    log.append_many([Ticked(at=T0), MeterReading(at=T0, grid_w=100.0)])
    assert log.unsynced, "a readings-only tick soon after a synced commit waits in the WAL"
    log.append_many([Ticked(at=T0 + timedelta(seconds=1)), MeterReading(at=T0, grid_w=101.0)])
    issued = CommandIssued(at=T0, command=Command.standby(), state="Standby", reason="test", inputs={})
    log.append_many([Ticked(at=T0 + timedelta(seconds=2)), issued])
    assert not log.unsynced, "a decision is on the disk (and everything before it) before append returns"
    log.append(MeterReading(at=T0, grid_w=102.0))
    log.sync()
    assert not log.unsynced
    log.close()
    reopened = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="home")
    assert [s.event.kind for s in reopened.read_after(0)] == [
        "ticked", "meter_reading", "ticked", "meter_reading", "ticked", "command_issued", "meter_reading"
    ]  # fmt: skip
    reopened.close()


def test_the_daemons_log_never_loads_sqlalchemy_and_migrates_in_a_child(tmp_path: Path) -> None:
    path = tmp_path / "daemon.db"
    probe = (
        "import sys; from storage.event_log import EventLog; "
        f"log = EventLog.open_sqlite({str(path)!r}, site_id='home'); log.append_many([]); log.identity(); "
        "print(sorted(m for m in ('sqlalchemy', 'alembic') if m in sys.modules))"
    )
    for _ in range(2):  # a new database (migrated by the child), then one at the head revision
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "[]"
    assert sqlite_revision(path) == head_revision()


def test_a_ticks_append_is_one_statement_with_consecutive_seqs(tmp_path: Path) -> None:
    log = EventLog.open_sqlite(tmp_path / "daemon.db", site_id="home")
    statements: list[str] = []
    seqs: list[int] = []
    for second in range(3):  # the first registers the kinds (a transaction), then one INSERT per tick
        now = T0 + timedelta(seconds=second)
        if second == 1:
            assert log._writer is not None
            log._writer.set_trace_callback(statements.append)
        seqs += log.append_many([Ticked(at=now), MeterReading(at=now, grid_w=100.0 + second)])
    assert log._writer is not None
    log._writer.set_trace_callback(None)
    assert [sql.split(" (")[0] for sql in statements] == ["INSERT INTO events"] * 2, "no BEGIN, no COMMIT"
    many = [MeterReading(at=T0, grid_w=float(n)) for n in range(100)]  # a backlog: the batched path
    seqs += log.append_many(many)
    assert seqs == list(range(seqs[0], seqs[0] + 106))
    assert [s.seq for s in log.read_after(0, limit=200)] == seqs
    log.close()
