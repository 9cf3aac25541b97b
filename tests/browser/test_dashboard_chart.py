"""The dashboard chart in Chromium on a fresh site (issue 13): last hour by default, the command in force,
no band across a gap, times in the schedule's zone whatever the browser's, and a chart that refreshes itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from controller.clock import SystemClock
from storage.database import sqlite_url
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.sites import create_site
from storage.server.services.status import store_status
from storage.server.services.users import create_user, set_role
from storage.server.testing import run_server
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

PASSWORD = "correct horse battery"
ZONE = ZoneInfo("Europe/Amsterdam")
GAP = (timedelta(minutes=-16), timedelta(minutes=-8))  # no readings in this window before "now"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"
    ),
]


def _fresh_demo(now: datetime) -> list[IngestEvent]:
    """Twenty minutes of readings with a gap; at a slot boundary discharge 800 W, 10 ms later charge 600 W."""
    events: list[IngestEvent] = []

    def add(at: datetime, kind: str, **payload: Any) -> None:
        events.append(IngestEvent(len(events) + 1, at, kind, payload, 1, "0.1.0"))

    for i in range(0, 1200, 5):
        at = now - timedelta(minutes=20) + timedelta(seconds=i)
        if now + GAP[0] <= at < now + GAP[1]:
            continue
        add(at, "meter_reading", grid_w=100.0 + (i % 60))
        add(at, "battery_reading", battery_w=-600.0, soc_pct=50.0)
    boundary = now - timedelta(minutes=5)
    command = {"state": "NetZero", "reason": "slot boundary", "inputs": {}}
    add(
        now - timedelta(minutes=20),
        "command_issued",
        command={"kind": "discharge", "power_w": 300},
        **command,
    )
    add(boundary, "command_issued", command={"kind": "discharge", "power_w": 800}, **command)
    add(
        boundary + timedelta(milliseconds=10),
        "command_issued",
        command={"kind": "charge", "power_w": 600},
        **command,
    )
    return sorted(events, key=lambda e: e.at)


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    clock = SystemClock()
    db = tmp_path_factory.mktemp("dashboard") / "server.db"
    app = create_app(ServerConfig(database_url=sqlite_url(db)), clock=clock)
    engine = app.state.zsm.engine
    site, _token = create_site(engine, "home", clock.now())
    create_user(engine, "alice", PASSWORD, clock.now())
    set_role(engine, "alice", "home", "viewer")
    events = [
        IngestEvent(seq, e.at, e.kind, e.payload, 1, "0.1.0")
        for seq, e in enumerate(_fresh_demo(clock.now()), start=1)
    ]
    ingest_events(engine, site, events)
    last_command_at = datetime(2026, 7, 1, 16, 5, 9, tzinfo=ZoneInfo("UTC"))  # 18:05:09 in Amsterdam
    status = {
        "state": "NetZero",
        "last_command": {"kind": "charge", "power_w": 600},
        "last_command_at": last_command_at.isoformat(),
        "heartbeat_at": clock.now().isoformat(),
    }
    store_status(engine, site, status, clock.now(), clock.now())
    with run_server(app) as base_url:
        yield {"base_url": base_url, "engine": engine, "site": site, "seq": len(events)}
    engine.dispose()


@pytest.fixture
def page(site_server: dict[str, Any]) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        context = browser.new_context(
            base_url=site_server["base_url"],
            viewport={"width": 1200, "height": 900},
            timezone_id="Asia/Tokyo",
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.clock.install()
        page.goto("/login?next=/sites/home")
        page.fill("input[name=username]", "alice")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url("**/sites/home")
        yield page
        browser.close()
        assert not errors, errors


def _chart(page: Any) -> Any:
    return page.evaluate(
        "() => { const c = document.getElementById('chart');"
        " return c.data.map(t => ({name: t.name || null, meta: t.meta || null, fill: t.fill || null,"
        " x: Array.from(t.x), y: Array.from(t.y)})); }"
    )


def _wall(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=ZONE)


def test_fresh_site_shows_the_last_hour_the_command_in_force_and_no_wedge(page: Any) -> None:
    page.clock.run_for(1000)
    page.wait_for_selector("#chart[data-range='1h']", state="attached", timeout=15_000)
    now = datetime.now(ZONE)
    traces = _chart(page)
    setpoint = next(t for t in traces if t["name"] and t["name"].startswith("set-point"))
    assert -600.0 in setpoint["y"] and setpoint["y"][-1] == -600.0 and 100.0 not in setpoint["y"]
    bands = [t for t in traces if t["meta"] == "band"]
    assert len(bands) == 2 and all(t["fill"] == "toself" for t in bands)
    gap = (now + GAP[0] + timedelta(minutes=1), now + GAP[1] - timedelta(minutes=1))
    for band in bands:
        polygons: list[list[datetime]] = [[]]
        for x in band["x"]:
            if x is None:
                polygons.append([])
            else:
                polygons[-1].append(_wall(x))
        for polygon in filter(None, polygons):
            assert not (min(polygon) < gap[0] and max(polygon) > gap[1]), "a band spans the gap"
        assert len([p for p in polygons if p]) >= 2


def test_times_are_in_the_schedule_zone_not_the_browsers(page: Any) -> None:
    page.clock.run_for(1000)
    page.wait_for_selector("#st-command:has-text('at 2026')", timeout=15_000)
    assert page.inner_text("#st-command") == "charge 600 W at 2026-07-01 18:05:09"
    assert "Europe/Amsterdam" in page.inner_text("#status .meta")


def test_the_chart_refreshes_itself(page: Any, site_server: dict[str, Any]) -> None:
    page.clock.run_for(1000)
    page.wait_for_selector("#chart[data-range='1h']", state="attached", timeout=15_000)
    draws = int(page.get_attribute("#chart", "data-draws"))
    now = datetime.now(ZONE)
    seq = site_server["seq"] + 1
    ingest_events(
        site_server["engine"],
        site_server["site"],
        [IngestEvent(seq, now, "meter_reading", {"grid_w": 4321.0}, 1, "0.1.0")],
    )
    page.clock.run_for(31_000)
    page.wait_for_selector(f"#chart[data-draws='{draws + 1}']", state="attached", timeout=15_000)
    grid = next(t for t in _chart(page) if t["name"] == "grid")
    assert 4321.0 in grid["y"]
