"""Benchmark of the zsm web server on loopback (bounded; SQLite and PostgreSQL).

Figures:
- ingest events/s, batches of 500 realistic events (1 Hz meter, 0.2 Hz battery, 0.1 Hz commands), one
  daemon posting sequentially, on SQLite and (when reachable) PostgreSQL;
- schedule GET latency p50/p99 with 50 concurrent keep-alive clients (SQLite);
- telemetry query time for 7 days of 1 Hz data downsampled to 2,000 points (SQLite; PostgreSQL with
  --pg-telemetry).

The server runs in a child process (``uvicorn``, one worker) so that the client does not share its GIL.
Usage: ``python tools/bench_server.py [--json] [--batches N] [--days D] [--no-postgres]``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from storage.database import create_db_engine, sqlite_url  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.server.services.ingest import IngestEvent, ingest_events  # noqa: E402
from storage.server.services.sites import create_site  # noqa: E402

PG_URL = os.environ.get("ZSM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BATCH = 500
START = datetime(2026, 11, 1, tzinfo=UTC)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int) -> None:
    """Child process: the app with limits raised for the benchmark."""
    import uvicorn

    from storage.server.app import create_app
    from storage.server.config import ServerConfig

    config = ServerConfig(
        database_url=url, ingest_rate_per_s=1e6, ingest_burst=10**6, api_rate_per_s=1e6, api_burst=10**6
    )
    uvicorn.run(create_app(config), host="127.0.0.1", port=port, log_level="warning", access_log=False)


@contextmanager
def server(url: str) -> Iterator[str]:
    port = _free_port()
    child = subprocess.Popen([sys.executable, __file__, "--serve", url, "--port", str(port)], cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or child.poll() is not None:
                raise RuntimeError("the benchmark server did not start")
            time.sleep(0.05)
        yield base
    finally:
        child.terminate()
        child.wait(timeout=10)


def _events(first_seq: int, first_second: int, count: int) -> list[dict[str, Any]]:
    """``count`` events of a 1 Hz stream: meter every second, battery every 5 s, command every 10 s."""
    events: list[dict[str, Any]] = []
    seq, second = first_seq, first_second
    while len(events) < count:
        at = (START + timedelta(seconds=second)).isoformat()
        rows = [("meter_reading", {"grid_w": 150.0 + (second % 97) - 48, "meter_time": at})]
        if second % 5 == 0:
            rows.append(("battery_reading", {"battery_w": 210.0, "soc_pct": 55.5, "soc_limit": 0}))
        if second % 10 == 0:
            rows.append(
                (
                    "command_issued",
                    {
                        "command": {"kind": "discharge", "power_w": 200 + second % 50},
                        "state": "NetZero",
                        "reason": "cancel grid import",
                        "inputs": {"grid_w": 150.0, "battery_w": 210.0, "lag_s": 18.5},
                    },
                )
            )
        for kind, payload in rows:
            if len(events) < count:
                events.append(
                    {
                        "seq": seq,
                        "at": at,
                        "kind": kind,
                        "payload": payload,
                        "schema_version": 1,
                        "software_version": "0.1.0",
                    }
                )
                seq += 1
        second += 1
    return events


def bench_ingest(url: str, batches: int) -> dict[str, float]:
    engine = create_db_engine(url)
    upgrade(engine)
    _site, token = create_site(engine, f"bench-{uuid.uuid4().hex[:6]}", datetime.now(UTC))
    engine.dispose()
    bodies: list[bytes] = []
    seq, second = 1, 0
    for _ in range(batches):
        events = _events(seq, second, BATCH)
        bodies.append(json.dumps({"events": events}).encode())
        seq = events[-1]["seq"] + 1
        second = int((datetime.fromisoformat(events[-1]["at"]) - START).total_seconds()) + 1
    with server(url) as base:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        site = _site.name
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            client.post(
                f"/api/v1/sites/{site}/status", json={"state": "x", "heartbeat_at": START.isoformat()}
            )
            latencies = []
            began = time.perf_counter()
            for body in bodies:
                t0 = time.perf_counter()
                reply = client.post(f"/api/v1/sites/{site}/events", content=body)
                latencies.append(time.perf_counter() - t0)
                reply.raise_for_status()
            elapsed = time.perf_counter() - began
            last = reply.json()
    assert last["highest_contiguous_seq"] == seq - 1, last
    return {
        "events": batches * BATCH,
        "events_per_s": round(batches * BATCH / elapsed),
        "batch_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "batch_max_ms": round(max(latencies) * 1000, 2),
    }


async def _get_loop(port: int, request: bytes, count: int, latencies: list[float]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(head[:60].decode(errors="replace"))
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
    finally:
        writer.close()


def bench_schedule_get(url: str, clients: int, per_client: int) -> dict[str, float]:
    engine = create_db_engine(url)
    upgrade(engine)
    site, token = create_site(engine, f"get-{uuid.uuid4().hex[:6]}", datetime.now(UTC))
    engine.dispose()
    with server(url) as base:
        port = int(base.rsplit(":", 1)[1])
        request = (
            f"GET /api/v1/sites/{site.name}/schedule HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
        ).encode()

        async def run(count: int) -> tuple[list[float], float]:
            latencies: list[float] = []
            began = time.perf_counter()
            await asyncio.gather(*(_get_loop(port, request, count, latencies) for _ in range(clients)))
            return latencies, time.perf_counter() - began

        asyncio.run(run(5))  # warm-up
        latencies, elapsed = asyncio.run(run(per_client))
    latencies.sort()
    return {
        "clients": clients,
        "requests": len(latencies),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "requests_per_s": round(len(latencies) / elapsed),
    }


def bench_telemetry(url: str, days: int, points: int) -> dict[str, float]:
    engine = create_db_engine(url)
    upgrade(engine)
    site, token = create_site(engine, f"tel-{uuid.uuid4().hex[:6]}", datetime.now(UTC))
    seconds = days * 86_400
    fill_began = time.perf_counter()
    seq, second, total = 1, 0, 0
    while second < seconds:
        raw = _events(seq, second, 5000)
        raw = [e for e in raw if datetime.fromisoformat(e["at"]) < START + timedelta(seconds=seconds)]
        if not raw:
            break
        events = [
            IngestEvent(e["seq"], datetime.fromisoformat(e["at"]), e["kind"], e["payload"], 1, "0.1.0")
            for e in raw
        ]
        ingest_events(engine, site, events)
        total += len(events)
        seq = raw[-1]["seq"] + 1
        second = int((datetime.fromisoformat(raw[-1]["at"]) - START).total_seconds()) + 1
    fill_s = time.perf_counter() - fill_began
    engine.dispose()
    params = {
        "start": START.isoformat(),
        "end": (START + timedelta(days=days)).isoformat(),
        "points": points,
    }
    with server(url) as base, httpx.Client(base_url=base, timeout=30) as client:
        headers = {"Authorization": f"Bearer {token}"}
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            reply = client.get(f"/api/v1/sites/{site.name}/telemetry", params=params, headers=headers)
            times.append(time.perf_counter() - t0)
            reply.raise_for_status()
        data = reply.json()
        # the finest level: one hour at 2,000 points reads raw samples
        hour = {**params, "end": (START + timedelta(hours=24)).isoformat()}
        t0 = time.perf_counter()
        day_reply = client.get(f"/api/v1/sites/{site.name}/telemetry", params=hour, headers=headers)
        day_ms = (time.perf_counter() - t0) * 1000
        day_reply.raise_for_status()
    assert len(data["t"]) == points and data["grid_w"]["mean"][0] is not None
    return {
        "days": days,
        "events": total,
        "fill_s": round(fill_s, 1),
        "points": points,
        "source": data["source"],
        "query_median_ms": round(statistics.median(times) * 1000, 1),
        "query_max_ms": round(max(times) * 1000, 1),
        "one_day_raw_samples_ms": round(day_ms, 1),
    }


@contextmanager
def postgres_schema() -> Iterator[str | None]:
    import sqlalchemy as sa

    try:
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            schema = f"zsm_bench_{uuid.uuid4().hex[:10]}"
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except Exception as err:  # PostgreSQL is optional for the benchmark
        print(f"PostgreSQL not available ({type(err).__name__}); skipping its figures", file=sys.stderr)
        yield None
        return
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    parser.add_argument("--batches", type=int, default=100, help="ingest batches of 500 per database")
    parser.add_argument("--days", type=int, default=7, help="days of 1 Hz data for the telemetry query")
    parser.add_argument("--points", type=int, default=2000, help="points of the telemetry query")
    parser.add_argument("--clients", type=int, default=50, help="concurrent schedule GET clients")
    parser.add_argument("--requests", type=int, default=60, help="schedule GETs per client")
    parser.add_argument("--no-postgres", action="store_true", help="skip PostgreSQL")
    parser.add_argument(
        "--pg-telemetry", action="store_true", help="also time the telemetry query on PostgreSQL"
    )
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port)
        return 0
    results: dict[str, Any] = {
        "targets": {"ingest_events_per_s": 20_000, "schedule_p99_ms": 20, "telemetry_ms": 300}
    }
    with tempfile.TemporaryDirectory(prefix="zsm-bench-") as tmp:
        sqlite = sqlite_url(Path(tmp) / "bench.db")
        results["ingest_sqlite"] = bench_ingest(sqlite, args.batches)
        results["schedule_get_sqlite"] = bench_schedule_get(sqlite, args.clients, args.requests)
        results["telemetry_sqlite"] = bench_telemetry(sqlite, args.days, args.points)
    if not args.no_postgres:
        with postgres_schema() as pg:
            if pg is not None:
                results["ingest_postgresql"] = bench_ingest(pg, args.batches)
                results["schedule_get_postgresql"] = bench_schedule_get(pg, args.clients, args.requests)
                if args.pg_telemetry:
                    results["telemetry_postgresql"] = bench_telemetry(pg, args.days, args.points)
    if args.json:
        print(json.dumps(results))
    else:
        for name, figures in results.items():
            print(f"{name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
