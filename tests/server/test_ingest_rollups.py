"""Rollups merge across batches, ignore re-sent events, and agree with the raw samples."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from storage.database import create_db_engine
from storage.migrate import upgrade
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.sites import create_site
from storage.server.services.telemetry import query_telemetry

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _meter(seq: int, second: int, grid_w: float) -> IngestEvent:
    return IngestEvent(seq, T0 + timedelta(seconds=second), "meter_reading", {"grid_w": grid_w}, 1, "t")


def test_rollups_merge_across_batches_and_match_samples(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        site, _token = create_site(engine, "home", T0)
        first = [_meter(i + 1, i, float(i)) for i in range(30)]  # 0..29 W in the first half minute
        second = [_meter(i + 31, 30 + i, float(100 + i)) for i in range(30)]  # 100..129 W
        assert ingest_events(engine, site, first).stored == 30
        assert ingest_events(engine, site, second).stored == 30
        assert ingest_events(engine, site, first).stored == 0  # re-sent: no double counting
        end = T0 + timedelta(minutes=1)
        rolled = query_telemetry(engine, site, T0, end, 1)  # one 60 s bucket: read from the 60 s rollup
        raw = query_telemetry(engine, site, T0, end, 60)  # 1 s buckets: raw samples
        assert rolled.source == "rollup_60s" and raw.source == "samples"
        grid = rolled.series["grid_w"]
        assert grid["min"] == [0.0] and grid["max"] == [129.0]
        assert grid["mean"][0] == sum(e.payload["grid_w"] for e in first + second) / 60
        assert raw.series["grid_w"]["mean"][:3] == [0.0, 1.0, 2.0]
        tens = query_telemetry(engine, site, T0, end, 2)  # 30 s buckets from the 10 s rollup
        assert tens.source == "rollup_10s"
        assert tens.series["grid_w"]["max"] == [29.0, 129.0]
    finally:
        engine.dispose()
