"""``zsm doctor``: check a real installation, one line per check, and say what to fix.

Checks: the configuration, the battery (what it reports), the meter (a reading and how old it is), the
meter lag estimated from the event log, the server-I/O worker's health (from the log), the server
(reachable, token accepted), the clock (against the server's ``Date`` header) and the free disk space
next to the event log.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, timedelta
from email.utils import parsedate_to_datetime
from enum import StrEnum

import requests

from controller.clock import Clock
from controller.domain.events import BatteryReading
from controller.settings import ConfigError, Settings, load_settings

__all__ = ["Check", "Status", "exit_code", "format_checks", "run_checks"]

MIN_FREE_BYTES = 200 * 1024 * 1024
MAX_CLOCK_SKEW_S = 30.0
LAG_WINDOW = timedelta(hours=6)


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"
    SKIP = "skip"


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    status: Status
    detail: str


def _config(path: str | None) -> tuple[Check, Settings | None]:
    try:
        settings = load_settings(path)
    except ConfigError as err:
        return Check("config", Status.FAIL, str(err).replace("\n", "; ")), None
    return Check(
        "config", Status.OK, f"valid (digest {settings.digest()}, site {settings.site_id!r})"
    ), settings


MQTT_WAIT_S = 15.0


def _mqtt_battery(settings: Settings, clock: Clock) -> Check:
    """Connect to the broker, ask the legacy device for getAll and wait (bounded) for its report."""
    from controller.devices.errors import DeviceError
    from controller.devices.factory import build_mqtt_battery

    try:
        adapter = build_mqtt_battery(settings, clock)
    except ValueError as err:
        return Check("battery", Status.FAIL, f"ValueError: {err}")
    deadline = clock.monotonic() + MQTT_WAIT_S
    try:
        while True:
            try:
                reading = adapter.poll()[-1]
                break
            except DeviceError as err:
                if clock.monotonic() >= deadline:
                    return Check("battery", Status.FAIL, f"{err.__class__.__name__}: {err}")
            clock.sleep(0.2)
    finally:
        adapter.close()
    assert isinstance(reading, BatteryReading)
    return Check(
        "battery",
        Status.OK if reading.fault is None else Status.WARN,
        f"{adapter.model.label} {adapter.topics.product_key}/{adapter.topics.device_key} "
        f"on {adapter.broker}: SoC {reading.soc_pct:.0f} %, {reading.battery_w:+.0f} W"
        + (f" ({reading.fault})" if reading.fault else ""),
    )


def _battery(settings: Settings, clock: Clock) -> Check:
    from controller.devices.errors import DeviceError
    from controller.devices.factory import build_battery

    if settings.battery.kind == "mqtt":
        return _mqtt_battery(settings, clock)

    try:
        client = build_battery(settings, clock)
        report = client.report()
    except (DeviceError, ValueError) as err:
        return Check("battery", Status.FAIL, f"{err.__class__.__name__}: {err}")
    reading = report.to_reading(clock.now())
    model = report.model
    return Check(
        "battery",
        Status.OK,
        f"{report.product} sn {report.sn} at {client.base_url}: SoC {reading.soc_pct:.0f} %, "
        f"{reading.battery_w:+.0f} W, limits {reading.max_discharge_w} W out / {reading.max_charge_w} W in"
        + ("" if model else " (unknown product: static limits not known)"),
    )


def _meter(settings: Settings, clock: Clock) -> Check:
    from controller.devices.errors import DeviceError
    from controller.devices.factory import build_meter

    try:
        meter = build_meter(settings, clock)
        reading = meter.read()
        meter.close()
    except (DeviceError, ValueError) as err:
        return Check("meter", Status.FAIL, f"{err.__class__.__name__}: {err}")
    if reading is None:
        return Check("meter", Status.WARN, "answered, but with no new reading")
    age = ""
    if reading.meter_time is not None:
        age = f", meter clock {(reading.at - reading.meter_time).total_seconds():+.0f} s behind"
    return Check("meter", Status.OK, f"{settings.meter.kind}: grid {reading.grid_w:+.0f} W{age}")


def _lag(settings: Settings, clock: Clock) -> Check:
    if not settings.database_path.is_file():
        return Check("meter lag", Status.SKIP, f"no event log yet at {settings.database_path}")
    from controller.logtools.lag import estimate_lag
    from storage.event_log import EventLog

    log = EventLog.open_sqlite(settings.database_path, site_id=settings.site_id, migrate=False)
    try:
        now = clock.now()
        report = estimate_lag((s.event for s in log.iter_range(now - LAG_WINDOW, now)), settings.regulation)
    finally:
        log.close()
    if report.lag_s is None:
        return Check("meter lag", Status.WARN, "not enough battery changes in the last 6 h to tell")
    status = Status.OK if report.confidence >= 0.5 else Status.WARN
    return Check(
        "meter lag",
        status,
        f"{report.lag_s:.1f} s (confidence {report.confidence:.2f}; configured {settings.regulation.lag_s})",
    )


def _worker(settings: Settings) -> Check:
    """Whether the daemon's server-I/O worker said it was unhealthy (and did not recover) since its start."""
    if not settings.database_path.is_file():
        return Check("server worker", Status.SKIP, f"no event log yet at {settings.database_path}")
    from storage.event_log import EventLog

    log = EventLog.open_sqlite(settings.database_path, site_id=settings.site_id, migrate=False)
    try:
        latest = [log.last_of_kind(k) for k in ("daemon_started", "worker_unhealthy", "worker_recovered")]
    finally:
        log.close()
    started, unhealthy, recovered = latest
    after_start = unhealthy is not None and (started is None or unhealthy.seq > started.seq)
    if after_start and unhealthy is not None and (recovered is None or recovered.seq < unhealthy.seq):
        problem = getattr(unhealthy.event, "problem", "?")
        return Check(
            "server worker",
            Status.WARN,
            f"unhealthy since {unhealthy.event.at:%Y-%m-%d %H:%M} UTC: {problem}",
        )
    return Check("server worker", Status.OK, "no unhealthy report since the daemon started")


def _server_and_clock(settings: Settings, clock: Clock) -> list[Check]:
    server = settings.server
    if not server.url or server.token is None:
        return [
            Check("server", Status.SKIP, "no server configured (schedule from file/URL, nothing uploaded)"),
            Check("clock", Status.SKIP, "no server to compare with"),
        ]
    url = f"{server.url.rstrip('/')}/api/v1/sites/{settings.site_id}/status"
    try:
        reply = requests.get(
            url,
            headers={"Authorization": f"Bearer {server.token.get_secret_value()}"},
            timeout=server.timeout_s,
        )
    except requests.RequestException as err:
        return [Check("server", Status.FAIL, f"{server.url}: {err.__class__.__name__}"), _clock_only(clock)]
    if reply.status_code in (401, 403):
        server_check = Check(
            "server", Status.FAIL, f"token refused for site {settings.site_id!r} (HTTP 401/403)"
        )
    elif reply.status_code == 404:
        server_check = Check("server", Status.FAIL, f"site {settings.site_id!r} unknown to the server")
    elif reply.ok:
        server_check = Check(
            "server", Status.OK, f"{server.url}: token accepted for site {settings.site_id!r}"
        )
    else:
        server_check = Check("server", Status.FAIL, f"{server.url}: HTTP {reply.status_code}")
    date = reply.headers.get("Date")
    if not date:
        return [server_check, _clock_only(clock)]
    skew = (clock.now() - parsedate_to_datetime(date)).total_seconds()
    clock_status = Status.OK if abs(skew) <= MAX_CLOCK_SKEW_S else Status.FAIL
    return [server_check, Check("clock", clock_status, f"{skew:+.1f} s against the server's clock")]


def _clock_only(clock: Clock) -> Check:
    year = clock.now().astimezone(UTC).year
    if year < 2025:
        return Check("clock", Status.FAIL, f"the system clock says {year}: is NTP running?")
    return Check("clock", Status.WARN, "plausible, but there was no server to compare with")


def _disk(settings: Settings) -> Check:
    folder = settings.database_path.resolve().parent
    while not folder.exists():
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    size = settings.database_path.stat().st_size if settings.database_path.is_file() else 0
    status = Status.OK if free >= MIN_FREE_BYTES else Status.FAIL
    return Check(
        "disk", status, f"{free / 1e9:.1f} GB free in {folder} (log {size / 1e6:.1f} MB; about 15 MB a day)"
    )


def run_checks(config_path: str | None, clock: Clock) -> list[Check]:
    """Every check, in order; device and server checks are skipped when the config is invalid."""
    config_check, settings = _config(config_path)
    checks = [config_check]
    if settings is None:
        return checks
    steps: list[Callable[[], list[Check]]] = [
        lambda: [_battery(settings, clock)],
        lambda: [_meter(settings, clock)],
        lambda: [_lag(settings, clock)],
        lambda: [_worker(settings)],
        lambda: _server_and_clock(settings, clock),
        lambda: [_disk(settings)],
    ]
    for step in steps:
        checks.extend(step())
    return checks


def format_checks(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    return "\n".join(f"[{c.status.value:>4}] {c.name:<{width}}  {c.detail}" for c in checks)


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.status is Status.FAIL for c in checks) else 0
