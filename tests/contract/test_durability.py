"""A killed writer loses nothing it reported committed, and the database stays sound."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.domain.events import MeterReading
from storage.event_log import EventLog

CHILD = r"""
import sys
from datetime import UTC, datetime, timedelta
from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandIssued, MeterReading, StateChanged
from storage.event_log import EventLog

log = EventLog.open_sqlite(sys.argv[1], site_id="durability")
t0 = datetime(2026, 11, 24, tzinfo=UTC)
tick = int(sys.argv[2])
while True:
    at = t0 + timedelta(seconds=tick)
    seqs = log.append_many([
        MeterReading(at=at, grid_w=float(tick), meter_time=at - timedelta(seconds=20)),
        BatteryReading(at=at, soc_pct=50, battery_w=100.0),
        StateChanged(at=at, from_state="Standby", to_state="NetZero", trigger="tick", reason=f"tick {tick}"),
        CommandIssued(at=at, command=Command.discharge(tick % 800), state="NetZero", inputs={"tick": tick}),
        MeterReading(at=at, grid_w=-float(tick)),
    ])
    print(f"{tick} {seqs[-1]}", flush=True)
    tick += 1
"""

RUNS = 20
EVENTS_PER_TICK = 5


def _run_and_kill(db: Path, first_tick: int, rng: random.Random) -> list[int]:
    """Start the writer, let it report a random number of committed ticks, SIGKILL it; return them."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), str(first_tick)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert proc.stdout is not None
    wanted = rng.randint(1, 40)
    committed: list[int] = []
    for line in proc.stdout:
        committed.append(int(line.split()[0]))
        if len(committed) >= wanted:
            break
    os.kill(proc.pid, signal.SIGKILL)  # lands somewhere inside the next tick's transaction
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return committed


def test_sigkill_never_loses_a_committed_tick(tmp_path: Path) -> None:
    rng = random.Random(20261124)
    db = tmp_path / "durability.db"
    reported: list[int] = []
    next_tick = 0
    for _ in range(RUNS):
        committed = _run_and_kill(db, next_tick, rng)
        reported.extend(committed)
        log = EventLog.open_sqlite(db, site_id="durability")
        stored = [
            s.event for s in log.iter_events() if isinstance(s.event, MeterReading) and s.event.grid_w >= 0
        ]
        ticks_in_log = [int(e.grid_w) for e in stored]
        assert set(reported) <= set(ticks_in_log), "a tick reported committed is missing"
        assert log.count() % EVENTS_PER_TICK == 0, "a tick was stored partially"
        last = max(ticks_in_log)
        log.close()
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        next_tick = last + 1
    # appending continues after the last kill
    log = EventLog.open_sqlite(db, site_id="durability")
    at = datetime(2026, 11, 25, tzinfo=UTC) + timedelta(seconds=1)
    seq = log.append(MeterReading(at=at, grid_w=1.0))
    assert seq == log.last_seq()
    assert len(reported) >= RUNS
    log.close()
