"""Reinstall end to end: a daemon runs, its database is deleted, a new daemon for the same site runs.

Both logs start at seq 1; the server keys each by its identity, so every event of both is stored and the
page's chart has no hole (before log identities the second log's events were all skipped as known).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from storage.server.tables import SITE_EVENTS, SITE_LOGS
from tests.e2e.world import SITE, world


@pytest.mark.slow
def test_a_reinstalled_daemon_continues_the_sites_history(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        first = w.start_daemon("first")
        w.poll(lambda: w.server_event_count() > 0, timeout_s=120, what="the first daemon running")
        w.wait_minutes(1.0)  # a minute of readings (the chart's buckets are minutes)
        assert w.stop_daemon(first) == 0, w.daemon_log()
        log = w.open_log()
        first_id, first_count = log.identity().log_id, log.count()
        readings = [s.at for s in log.iter_events() if s.kind == "meter_reading"]
        log.close()
        w.poll(lambda: w.server_event_count() == first_count, what="the first log at the server")
        for leftover in tmp_path.glob("daemon.db*"):
            leftover.unlink()  # a new SD card

        second = w.start_daemon("second")
        w.poll(lambda: w.server_event_count() > first_count, timeout_s=120, what="the second daemon running")
        w.wait_minutes(1.0)
        assert w.stop_daemon(second) == 0, w.daemon_log()
        log = w.open_log()
        second_id, second_count, second_last = log.identity().log_id, log.count(), log.last_seq()
        readings += [s.at for s in log.iter_events() if s.kind == "meter_reading"]
        log.close()
        assert second_id != first_id

        w.poll(lambda: w.server_event_count() == first_count + second_count, what="every event of both logs")
        with w.engine.connect() as connection:
            rows = connection.execute(
                select(
                    SITE_LOGS.c.log_id, func.count(), func.min(SITE_EVENTS.c.seq), func.max(SITE_EVENTS.c.seq)
                )
                .join(SITE_EVENTS, SITE_EVENTS.c.log == SITE_LOGS.c.id)
                .group_by(SITE_LOGS.c.log_id)
            ).all()
        per_log = {str(r[0]): (int(r[1]), int(r[2]), int(r[3])) for r in rows}
        assert per_log[first_id] == (first_count, 1, first_count)
        assert per_log[second_id] == (second_count, 1, second_last)

        # the chart has data in every bucket in which either daemon read the meter: no hole
        start = readings[0].replace(second=0, microsecond=0)  # whole minutes: rollups align with buckets
        end = readings[-1].replace(second=0, microsecond=0) + timedelta(minutes=1)
        points = max(1, int((end - start).total_seconds() // 60))
        params = {"start": start.isoformat(), "end": end.isoformat(), "points": str(points)}
        chart = requests.get(
            f"{w.url}/api/v1/sites/{SITE}/telemetry",
            params=params,
            headers={"Authorization": f"Bearer {w.token}"},
            timeout=10,
        ).json()
        bucket_s = chart["bucket_s"]
        read = {min(points - 1, int((at - start).total_seconds() // bucket_s)) for at in readings}
        drawn = {i for i, mean in enumerate(chart["grid_w"]["mean"]) if mean is not None}
        assert drawn == read
