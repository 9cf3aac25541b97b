"""The web page in Debian's chromium (headless, via Playwright): log in, charts, schedule editor, audit.

Screenshots land in ``artifacts/browser/`` (gitignored). Skipped when /usr/bin/chromium is absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
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

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "browser"
PASSWORD = "correct horse battery"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"
    ),
]


def _history(now: Any) -> list[IngestEvent]:
    """Two hours of readings every 5 s, a command every minute, slot changes: enough for a chart."""
    events: list[IngestEvent] = []
    seq = 0
    start = now - timedelta(hours=2)

    def add(at: Any, kind: str, **payload: Any) -> None:
        nonlocal seq
        seq += 1
        events.append(IngestEvent(seq, at, kind, payload, 1, "0.1.0"))

    add(start, "slot_changed", mode="netzero", slot_id="evening")
    for i in range(0, 7200, 5):
        at = start + timedelta(seconds=i)
        add(at, "meter_reading", grid_w=150.0 - (i % 600) / 3)
        add(at, "battery_reading", battery_w=120.0, soc_pct=80 - i / 360)
        if i % 60 == 0:
            add(
                at,
                "command_issued",
                command={"kind": "discharge", "power_w": 100 + i // 120},
                state="NetZero",
                reason="cancel grid import",
                inputs={"load_w": 250.0, "lag_s": 18.0},
            )
            add(
                at + timedelta(milliseconds=300),
                "command_result",
                command={"kind": "discharge", "power_w": 100 + i // 120},
                ok=True,
                latency_ms=35.0,
            )
    return events


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    clock = SystemClock()
    db = tmp_path_factory.mktemp("browser") / "server.db"
    app = create_app(ServerConfig(database_url=sqlite_url(db)), clock=clock)
    engine = app.state.zsm.engine
    site, token = create_site(engine, "home", clock.now())
    create_user(engine, "alice", PASSWORD, clock.now())
    set_role(engine, "alice", "home", "editor")
    ingest_events(engine, site, _history(clock.now()))
    status = {
        "state": "NetZero",
        "slot": {"mode": "netzero", "id": "evening"},
        "soc_pct": 60.0,
        "grid_w": 12.0,
        "battery_w": 230.0,
        "last_command": {"kind": "discharge", "power_w": 230},
        "last_command_at": clock.now().isoformat(),
        "heartbeat_at": clock.now().isoformat(),
    }
    store_status(engine, site, status, clock.now(), clock.now())
    with run_server(app) as base_url:
        yield {"base_url": base_url, "token": token}
    engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser: Any, site_server: dict[str, str]) -> Iterator[Any]:
    context = browser.new_context(base_url=site_server["base_url"], viewport={"width": 1200, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sites/home")
    yield page
    context.close()
    assert not errors, errors


def test_login_shows_status_and_chart_with_data(page: Any) -> None:
    page.wait_for_selector("#chart .main-svg", timeout=15_000)
    page.wait_for_function("document.getElementById('chart').dataset.points === '1000'")
    traces = page.evaluate(
        "() => document.getElementById('chart').data.map(t => [t.name, t.y.filter(v => v !== null).length])"
    )
    named = {name: count for name, count in traces if name}
    assert set(named) == {"grid", "battery", "set-point (command in force)", "SoC"}
    assert all(count > 0 for count in named.values()), named
    shapes = page.evaluate("() => document.getElementById('chart').layout.shapes.length")
    assert shapes >= 1  # the netzero slot is shaded
    page.wait_for_function("document.getElementById('st-state').textContent === 'NetZero'")
    assert "s ago" in page.inner_text("#st-heartbeat")
    assert page.inner_text("#st-soc") == "60 %"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)


def test_click_in_chart_opens_audit(page: Any) -> None:
    page.wait_for_selector("#chart .main-svg", timeout=15_000)
    page.click("[data-range='7d']")
    page.wait_for_selector("#chart[data-range='7d']", state="attached")
    box = page.locator("#chart .nsewdrag").first.bounding_box()
    assert box is not None
    # the data sits at the right edge of a 7-day range; click a bit left of the end
    page.mouse.move(box["x"] + box["width"] * 0.995, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] * 0.995, box["y"] + box["height"] / 2)
    page.wait_for_selector("#audit-body dl", timeout=10_000)
    text = page.inner_text("#audit-body")
    assert "discharge" in text and "cancel grid import" in text
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "audit.png"), full_page=True)


def test_add_netzero_slot_and_see_validation_error(page: Any, site_server: dict[str, str]) -> None:
    page.goto("/sites/home/schedule")
    form = page.locator("#add-recurring form")
    for day in ("mon", "tue", "wed"):
        form.locator(f"input[name=days][value={day}]").check()
    form.locator("input[name=start]").fill("17:00")
    form.locator("input[name=end]").fill("23:00")
    form.locator("select[name=mode]").select_option("netzero")
    form.locator("input[name=max_w]").fill("600")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert "Saved." in page.inner_text(".flash")
    assert "NetZero ≤ 600 W" in page.inner_text("table.week")

    # a bad slot: charge without power -> the message sits next to the power field
    form = page.locator("#add-recurring form")
    form.locator("input[name=days][value=sat]").check()
    form.locator("input[name=start]").fill("01:00")
    form.locator("input[name=end]").fill("05:00")
    form.locator("select[name=mode]").select_option("charge")
    form.locator("button[type=submit]").click()
    error = page.locator("#add-recurring #err-power_w")
    error.wait_for()
    assert "power_w" in error.inner_text()
    assert page.locator("#add-recurring input[name=power_w]").get_attribute("aria-invalid") == "true"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "schedule-validation.png"), full_page=True)

    schedule = httpx.get(
        f"{site_server['base_url']}/api/v1/sites/home/schedule",
        headers={"Authorization": f"Bearer {site_server['token']}"},
    ).json()
    assert [s["mode"] for s in schedule["recurring"]] == ["netzero"]


def test_conflict_reloads_with_a_message(page: Any, site_server: dict[str, str]) -> None:
    page.goto("/sites/home/schedule")
    api = f"{site_server['base_url']}/api/v1/sites/home/schedule"
    auth = {"Authorization": f"Bearer {site_server['token']}"}
    current = httpx.get(api, headers=auth)
    changed = {**current.json(), "default": {"mode": "netzero_plus"}}
    assert (
        httpx.put(api, json=changed, headers={**auth, "If-Match": current.headers["etag"]}).status_code == 200
    )
    form = page.locator("#add-dated form")
    form.locator("input[name=start]").fill("2026-12-24T00:00")
    form.locator("input[name=end]").fill("2026-12-27T00:00")
    form.locator("select[name=mode]").select_option("standby")
    form.locator("button[type=submit]").click()
    page.wait_for_selector(".flash")
    assert "changed the schedule meanwhile" in page.inner_text(".flash")
    assert "NetZero+" in page.inner_text(".meta")


def test_status_lists_each_battery_when_there_are_several(page: Any, site_server: dict[str, str]) -> None:
    """A daemon with ``[[batteries]]`` posts each battery; the dashboard shows them under the total."""
    now = SystemClock().now().isoformat()
    status = {
        "state": "NetZero", "battery_w": 1100.0, "soc_pct": 52.0, "heartbeat_at": now,
        "batteries": [
            {"name": "b1", "online": True, "soc_pct": 40.0, "battery_w": 300.0, "share_w": 300.0},
            {"name": "b2", "online": False, "soc_pct": 64.0, "battery_w": 800.0, "share_w": None},
        ],
    }  # fmt: skip
    posted = httpx.post(
        f"{site_server['base_url']}/api/v1/sites/home/status",
        json=status,
        headers={"Authorization": f"Bearer {site_server['token']}"},
    )
    assert posted.status_code in (200, 204), posted.text
    page.reload()
    page.locator("#st-members", has_text="(offline)").wait_for(timeout=15_000)  # no eval: the page's CSP
    assert page.inner_text("#st-members") == "b1: 40 %, 300 W · b2: 64 %, 800 W (offline)"
    assert page.inner_text("#st-battery") == "1100 W in all"
