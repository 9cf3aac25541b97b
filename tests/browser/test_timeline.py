"""The timeline page in Debian's chromium: today and tomorrow, prices, plan, edit by click, drag and typing.

The browser runs in America/New_York on purpose: every time on the page must still be Europe/Amsterdam
(the schedule's zone). Screenshots are committed under tests/screenshots/ (the README shows one).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from controller.clock import SystemClock
from storage.database import sqlite_url
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services.ingest import IngestEvent, ingest_events
from storage.server.services.sites import create_site
from storage.server.services.users import create_user, set_role
from storage.server.testing import run_server
from tests.conftest import CHROMIUM, CHROMIUM_ARGS

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PASSWORD = "correct horse battery"
ZONE = ZoneInfo("Europe/Amsterdam")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (apt-get install chromium)"
    ),
]


def _midnight(now: datetime, plus_days: int = 0) -> datetime:
    day = now.astimezone(ZONE).date() + timedelta(days=plus_days)
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


def _schedule(now: datetime) -> dict[str, Any]:
    tomorrow = _midnight(now, 1).date().isoformat()
    return {
        "timezone": "Europe/Amsterdam",
        "default": {"mode": "standby"},
        "recurring": [
            {
                "id": "evening",
                "days": list(("mon", "tue", "wed", "thu", "fri", "sat", "sun")),
                "start": "17:00",
                "end": "22:00",
                "mode": "netzero",
                "max_w": 800,
            },
        ],
        "dated": [
            {
                "id": "cheap-night",
                "start": f"{tomorrow}T02:00",
                "end": f"{tomorrow}T05:00",
                "mode": "charge",
                "power_w": 800,
                "plan": {
                    "planner": "zsm plan",
                    "price_eur_per_kwh": 0.08,
                    "expected_soc_start_pct": 20,
                    "expected_soc_end_pct": 90,
                    "reason": "cheapest three hours",
                },
            },
            {
                "id": "peak",
                "start": f"{tomorrow}T08:00:00Z",
                "end": f"{tomorrow}T10:00:00Z",
                "mode": "discharge",
                "power_w": 600,
                "plan": {
                    "planner": "zsm plan",
                    "expected_soc_start_pct": 90,
                    "expected_soc_end_pct": 55,
                    "reason": "morning peak",
                },
            },
        ],
    }


def _events(now: datetime) -> list[IngestEvent]:
    """Two hours of readings, and day-ahead prices for today and tomorrow (a synthetic daily curve)."""
    events: list[IngestEvent] = []

    def add(at: datetime, kind: str, **payload: Any) -> None:
        events.append(IngestEvent(len(events) + 1, at, kind, payload, 1, "0.1.0"))

    start = _midnight(now).astimezone(UTC)
    intervals = []
    for quarter in range(2 * 96):
        at = start + timedelta(minutes=15 * quarter)
        hour = (quarter % 96) / 4
        price = 0.22 + 0.09 * math.sin((hour - 12) / 24 * 2 * math.pi) + (0.06 if 17 <= hour < 21 else 0.0)
        intervals.append(
            {
                "start": at.isoformat(),
                "end": (at + timedelta(minutes=15)).isoformat(),
                "import_eur_per_kwh": round(price, 4),
            }
        )
    add(start, "prices_received", source="test", zone="NL", intervals=intervals)
    first = now - timedelta(hours=2)
    for i in range(0, 7200, 10):
        at = first + timedelta(seconds=i)
        add(at, "meter_reading", grid_w=150.0 - (i % 600) / 3)
        add(at, "battery_reading", battery_w=120.0, soc_pct=70 - i / 720)
    return events


@pytest.fixture(scope="module")
def site_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    clock = SystemClock()
    db = tmp_path_factory.mktemp("timeline") / "server.db"
    app = create_app(ServerConfig(database_url=sqlite_url(db)), clock=clock)
    engine = app.state.zsm.engine
    site, token = create_site(engine, "home", clock.now())
    create_user(engine, "alice", PASSWORD, clock.now())
    set_role(engine, "alice", "home", "editor")
    ingest_events(engine, site, _events(clock.now()))
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


def _api(site_server: dict[str, str]) -> tuple[str, dict[str, str]]:
    return f"{site_server['base_url']}/api/v1/sites/home/schedule", {
        "Authorization": f"Bearer {site_server['token']}"
    }


def _reset(site_server: dict[str, str]) -> None:
    url, auth = _api(site_server)
    current = httpx.get(url, headers=auth)
    reply = httpx.put(
        url, json=_schedule(datetime.now(UTC)), headers={**auth, "If-Match": current.headers["etag"]}
    )
    assert reply.status_code == 200, reply.text


def _stored(site_server: dict[str, str]) -> dict[str, Any]:
    url, auth = _api(site_server)
    body: dict[str, Any] = httpx.get(url, headers=auth).json()
    return body


def _open(browser: Any, site_server: dict[str, str], viewport: dict[str, int]) -> Iterator[Any]:
    _reset(site_server)
    context = browser.new_context(
        base_url=site_server["base_url"], viewport=viewport, timezone_id="America/New_York"
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto("/login?next=/sites/home/timeline")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/sites/home/timeline")
    page.wait_for_selector("#timeline[data-loaded]", state="attached", timeout=15_000)
    page.wait_for_selector("#tl-chart .main-svg")
    yield page
    context.close()
    assert not errors, errors


@pytest.fixture
def page(browser: Any, site_server: dict[str, str]) -> Iterator[Any]:
    yield from _open(browser, site_server, {"width": 1280, "height": 1000})


@pytest.fixture
def phone(browser: Any, site_server: dict[str, str]) -> Iterator[Any]:
    yield from _open(browser, site_server, {"width": 390, "height": 844})


def _click_on_top(page: Any, locator: Any) -> None:
    """Click ``locator`` once the page has settled after a full-page screenshot (it must be on top)."""
    box = locator.bounding_box()
    point = [box["x"] + box["width"] / 2, box["y"] + box["height"] / 2]
    on_top = "([x, y]) => { const el = document.elementFromPoint(x, y); return el ? el.textContent : null; }"
    assert page.evaluate(on_top, point) == locator.inner_text()
    locator.click()


def test_today_and_tomorrow_with_prices_plan_and_zone(page: Any) -> None:
    assert "Europe/Amsterdam" in page.inner_text("#timeline .meta")
    titles = page.eval_on_selector_all(".tl-band", "els => els.map(e => e.title)")
    assert any(t.startswith("17:00–22:00 NetZero") for t in titles), titles  # Amsterdam, not New York
    assert any(t.startswith("02:00–05:00 Charge 800 W") for t in titles), titles
    peak = [t for t in titles if "Discharge" in t]
    assert peak and peak[0].startswith(("09:00–11:00", "10:00–12:00")), peak  # 08:00Z shown in Amsterdam
    names = page.evaluate("() => document.getElementById('tl-chart').data.map(t => t.name)")
    assert {"price €/kWh", "expected SoC %", "SoC %", "grid W", "battery W"} <= set(names)
    assert page.locator(".tl-day .tl-wslot").count() == 7  # the weekly slot on each day of the week strip
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "timeline.png"), full_page=True)


def test_click_a_slot_and_type_exact_times(page: Any, site_server: dict[str, str]) -> None:
    page.locator(".tl-band.kind-dated").first.click()
    form = page.locator("#tl-form")
    assert form.locator("input[name=start]").input_value().endswith("T02:00")
    form.locator("input[name=end]").fill(form.locator("input[name=end]").input_value()[:11] + "05:45")
    form.locator("input[name=power_w]").fill("700")
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "timeline-edit-typing.png"), full_page=True)
    _click_on_top(page, form.locator("button[type=submit]"))
    page.wait_for_selector("#timeline[data-loaded='2']", state="attached")
    slot = _stored(site_server)["dated"][0]
    assert slot["end"].endswith("T05:45:00") and slot["power_w"] == 700
    assert slot["start"].endswith("T02:00:00") and slot["plan"] is None  # a person changed it


def test_saving_a_slot_unedited_changes_nothing(page: Any, site_server: dict[str, str]) -> None:
    before = _stored(site_server)
    page.locator(".tl-band.kind-dated").nth(1).click()  # stored with Z: shown in Amsterdam
    _click_on_top(page, page.locator("#tl-form button[type=submit]"))
    page.wait_for_selector("#timeline[data-loaded='2']", state="attached")
    assert _stored(site_server) == before


def test_drag_an_edge(page: Any, site_server: dict[str, str]) -> None:
    band = page.locator(".tl-band.kind-dated").first
    edge = band.locator(".edge.end")
    box = edge.bounding_box()
    lane = page.locator("#tl-lane").bounding_box()
    hour_px = lane["width"] / 48
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2 + hour_px, box["y"] + 5, steps=8)
    page.mouse.move(box["x"] + box["width"] / 2 + 2 * hour_px, box["y"] + 5, steps=8)
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "timeline-drag.png"))
    page.mouse.up()
    page.wait_for_selector("#timeline[data-loaded='2']", state="attached")
    slot = _stored(site_server)["dated"][0]
    end = datetime.fromisoformat(slot["end"])
    assert slot["start"].endswith("T02:00:00")
    assert end.hour in (6, 7) and end.minute % 15 == 0, slot  # about two hours later, on a quarter


def test_add_a_slot_by_selecting_a_range(page: Any, site_server: dict[str, str]) -> None:
    lane = page.locator("#tl-lane").bounding_box()
    hour_px = lane["width"] / 48
    y = lane["y"] + lane["height"] / 2
    x = lane["x"] + 36 * hour_px  # tomorrow 12:00, in the default (standby)
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + hour_px, y, steps=6)
    page.mouse.move(x + 2 * hour_px, y, steps=6)
    page.mouse.up()
    form = page.locator("#tl-form")
    assert form.locator("input[name=start]").input_value().endswith("T12:00")
    assert form.locator("input[name=end]").input_value().endswith("T14:00")
    form.locator("select[name=mode]").select_option("charge")
    form.locator("input[name=power_w]").fill("500")
    _click_on_top(page, form.locator("button[type=submit]"))
    page.wait_for_selector("#timeline[data-loaded='2']", state="attached")
    added = _stored(site_server)["dated"][-1]
    assert added["mode"] == "charge" and added["power_w"] == 500
    assert added["start"].endswith("T12:00:00") and added["end"].endswith("T14:00:00")


def test_works_on_a_phone(phone: Any) -> None:
    overflow = phone.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0  # the timeline scrolls inside its card, the page does not
    phone.locator(".tl-band.kind-dated").first.scroll_into_view_if_needed()
    phone.locator(".tl-band.kind-dated").first.click()
    assert phone.locator("#tl-editor").is_visible()
    SCREENSHOTS.mkdir(exist_ok=True)
    phone.screenshot(path=str(SCREENSHOTS / "timeline-phone.png"), full_page=True)
