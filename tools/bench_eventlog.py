#!/usr/bin/env python3
"""Event-log benchmark: batched append, control-tick latency, read+decode throughput, bytes per event.

Builds a log of N events (default 1,000,000) in a temporary SQLite file with the production settings
(WAL, synchronous=FULL). Prints a table, or with ``--json`` one JSON object with every figure.
Targets on a 2-core machine: batched append >= 50,000 events/s, read+decode >= 150,000 events/s,
<= 150 bytes per meter-reading event on disk.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from controller.domain.commands import Command
from controller.domain.events import BatteryReading, CommandIssued, EventBase, MeterReading, StateChanged
from storage.event_log import EventLog

T0 = datetime(2026, 11, 24, tzinfo=UTC)
TARGETS = {
    "append_batched_events_per_s": 50_000,
    "read_decode_events_per_s": 150_000,
    "bytes_per_meter_event": 150,
}


def meter_event(i: int) -> MeterReading:
    at = T0 + timedelta(seconds=i)
    return MeterReading(
        at=at,
        grid_w=round(350.0 + (i * 37) % 900 - 450, 1),
        meter_time=at - timedelta(seconds=20),
        import_kwh=round(12_345.678 + i * 0.0001, 3),
        export_kwh=round(2_345.678 + i * 0.00005, 3),
    )


def tick_events(i: int) -> list[EventBase]:
    at = T0 + timedelta(days=30, seconds=i)
    return [
        MeterReading(at=at, grid_w=120.0 + i % 50, meter_time=at - timedelta(seconds=20)),
        BatteryReading(at=at, soc_pct=55.0, battery_w=300.0, max_discharge_w=800, max_charge_w=1000),
        StateChanged(at=at, from_state="NetZero", to_state="NetZero", trigger="meter_reading", reason="hold"),
        CommandIssued(
            at=at,
            command=Command.discharge(300 + i % 50),
            state="NetZero",
            inputs={"meter_w": 120.0, "lag_s": 20},
        ),
        MeterReading(at=at, grid_w=110.0),
    ]


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def run(n_events: int, batch: int, ticks: int, progress: bool) -> dict[str, float]:
    results: dict[str, float] = {"events": n_events, "batch_size": batch}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        log = EventLog.open_sqlite(db, site_id="bench")
        # 1. batched append (the simulation / replay path); payload building is part of the cost
        build_s = 0.0
        append_s = 0.0
        for start in range(0, n_events, batch):
            b0 = time.perf_counter()
            events = [meter_event(i) for i in range(start, min(n_events, start + batch))]
            b1 = time.perf_counter()
            log.append_many(events)
            b2 = time.perf_counter()
            build_s += b1 - b0
            append_s += b2 - b1
            if progress and (start // batch) % 100 == 0:
                print(f"\r  appending {start + batch:>9,}/{n_events:,}", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr)
        results["append_batched_events_per_s"] = n_events / append_s
        results["build_events_per_s"] = n_events / build_s
        with log.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        size = file_bytes(db)
        results["db_bytes"] = size
        results["bytes_per_meter_event"] = size / n_events

        # 2. read + decode (replay path): stream everything back into pydantic events
        r0 = time.perf_counter()
        count = sum(1 for _ in log.iter_events())
        r1 = time.perf_counter()
        assert count == n_events, (count, n_events)
        results["read_decode_events_per_s"] = count / (r1 - r0)

        # 3. control-tick latency: ~5 events in one synchronous=FULL transaction (the daemon path)
        latencies = []
        for i in range(ticks):
            events = tick_events(i)
            t0 = time.perf_counter()
            log.append_many(events)
            latencies.append((time.perf_counter() - t0) * 1000)
        latencies.sort()
        results["tick_events"] = len(tick_events(0))
        results["tick_latency_ms_p50"] = statistics.median(latencies)
        results["tick_latency_ms_p99"] = latencies[int(len(latencies) * 0.99) - 1]
        results["tick_latency_ms_max"] = latencies[-1]
        log.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events in the log (default 1,000,000)")
    parser.add_argument("--batch", type=int, default=1_000, help="events per batched append (default 1,000)")
    parser.add_argument("--ticks", type=int, default=300, help="control ticks to time (default 300)")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    args = parser.parse_args()
    results = run(args.events, args.batch, args.ticks, progress=not args.json and os.isatty(2))
    if args.json:
        print(json.dumps({**results, "targets": TARGETS}, sort_keys=True))
        return 0
    rows = [
        ("events in log", f"{results['events']:,.0f}", ""),
        ("batched append (1,000/txn)", f"{results['append_batched_events_per_s']:,.0f} ev/s", ">= 50,000"),
        ("read + decode", f"{results['read_decode_events_per_s']:,.0f} ev/s", ">= 150,000"),
        ("bytes per meter event", f"{results['bytes_per_meter_event']:.1f} B", "<= 150"),
        ("tick latency p50 (5 events)", f"{results['tick_latency_ms_p50']:.2f} ms", "report"),
        ("tick latency p99", f"{results['tick_latency_ms_p99']:.2f} ms", "report"),
        ("event building", f"{results['build_events_per_s']:,.0f} ev/s", ""),
    ]
    print(f"{'figure':<30} {'measured':>18}  target")
    for name, value, target in rows:
        print(f"{name:<30} {value:>18}  {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
