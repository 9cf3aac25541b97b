"""Two and three zenSDK batteries on one meter: the daemon's devices behind one port, over real loopback HTTP.

The control loop regulates one total; the battery group (built from ``[[batteries]]`` exactly as the daemon
builds it) splits it. Virtual time, real servers.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from controller.clock import ManualClock
from controller.daemon.control_loop import ControlLoop
from controller.daemon.devices import build_devices
from controller.domain.events import (
    BatteryMemberReading,
    BatterySharesAssigned,
    MeterReading,
    ScheduleLoaded,
)
from controller.domain.machine import ControllerCore
from controller.domain.regulator import ZsmRegulator
from controller.logtools.audit import collect_audit_events, explain_at
from controller.settings import Settings
from controller.simulation.devices.site import LoopbackBankSite, loopback_bank_site
from controller.simulation.plant import BatteryParams, MeterParams
from storage.event_log import EventLog
from tests.daemon.conftest import START, flat_household


def netzero_all_day() -> dict[str, Any]:
    return {"timezone": "UTC", "default": {"mode": "netzero"}, "recurring": [], "dated": []}


def settings_for(site: LoopbackBankSite, tmp: Path) -> Settings:
    return Settings(
        database_path=tmp / "zsm.db",
        batteries=[
            {
                "name": f"b{i + 1}",
                "host": "127.0.0.1",
                "port": server.port,
                "serial": server.sn,
                "capacity_wh": site.bank.members[i].params.capacity_wh,
            }
            for i, server in enumerate(site.zendures)
        ],  # fmt: skip
        meter={"kind": "homewizard_v1", "host": "127.0.0.1", "port": site.meter.port},
        regulation={"lag_s": 5.0},
        # the limits are the group's totals
        limits={"max_discharge_w": 800 * len(site.zendures), "max_charge_w": 1000 * len(site.zendures)},
    )


def make_loop(site: LoopbackBankSite, settings: Settings, log: EventLog) -> ControlLoop:
    devices = build_devices(settings, site.clock)
    reg = settings.regulation
    core = ControllerCore(settings.limits.domain(), ZsmRegulator(reg.domain()))
    return ControlLoop(
        core=core,
        log=log,
        clock=site.clock,
        battery=devices.battery,
        meter=devices.meter,
        battery_interval_s=5,
        meter_interval_s=1,
    )


def run(loop: ControlLoop, site: LoopbackBankSite, seconds: int, extra: list[Any] | None = None) -> None:
    assert isinstance(site.clock, ManualClock)
    loop.tick(extra or [])
    for _ in range(seconds):
        site.clock.advance(1)
        loop.tick()


@pytest.fixture
def two() -> Iterator[LoopbackBankSite]:
    clock = ManualClock(START)
    batteries = [BatteryParams(initial_soc_pct=30.0), BatteryParams(initial_soc_pct=70.0)]
    with loopback_bank_site(
        flat_household(1100.0), clock, batteries, meter=MeterParams(lag_s=5.0), origin=START
    ) as site:
        yield site


@pytest.mark.slow
def test_two_batteries_share_a_netzero_load_and_cover_an_offline_one(
    two: LoopbackBankSite, tmp_path: Path
) -> None:
    settings = settings_for(two, tmp_path)
    log = EventLog.open_sqlite(tmp_path / "zsm.db", site_id="multi")
    loop = make_loop(two, settings, log)
    run(loop, two, 240, [ScheduleLoaded(at=START, source="test", schedule=netzero_all_day())])

    # 1100 W is more than one 800 W battery: both run, the total cancels the import.
    first, second = two.bank.members
    assert first.battery_w > 0 and second.battery_w > 0
    assert second.battery_w > first.battery_w, "the fuller battery carries more"
    events = [s.event for s in log.iter_events()]
    late = [e for e in events if isinstance(e, MeterReading) and e.at >= START + timedelta(seconds=120)]
    mean_import = sum(max(0.0, m.grid_w) for m in late) / len(late)
    assert mean_import < 60, f"NetZero with two batteries left {mean_import:.0f} W import"
    members = {e.battery for e in events if isinstance(e, BatteryMemberReading)}
    assert members == {"b1", "b2"}
    shares = [e for e in events if isinstance(e, BatterySharesAssigned)]
    assert shares and all(abs(sum(s.shares_w.values()) - s.command.battery_w) <= 2 for s in shares)
    assert [server.relay_switches for server in two.zendures] == [0, 0], "no relay switch inside NetZero"

    # the status carries each battery and the total
    status = loop.status()
    assert [b.name for b in status.batteries] == ["b1", "b2"] and all(b.online for b in status.batteries)
    assert status.battery_w == pytest.approx(sum(b.battery_w or 0 for b in status.batteries), abs=1)

    # the audit names each battery's share of the command in force
    audit = explain_at(collect_audit_events(log, two.clock.now()), two.clock.now())
    assert audit.shares_w is not None and set(audit.shares_w) == {"b1", "b2"}
    assert sum(audit.shares_w.values()) == pytest.approx(audit.battery_w, abs=2)
    assert "Split over the batteries: b1" in audit.summary

    # b2 drops off the LAN: b1 takes the whole load within one write interval (+ stale time to notice).
    offline_at = two.clock.now()
    two.zendures[1].stop()
    two.bank.members[1].set_live_limits(max_discharge_w=0.0, max_charge_w=0.0)
    run(loop, two, 120)
    assert first.battery_w >= 790, f"b1 covers the offline battery: {first.battery_w:.0f} W"
    assert second.battery_w == 0
    later = [
        s.event for s in log.iter_events()
        if isinstance(s.event, BatterySharesAssigned) and s.event.at > offline_at + timedelta(seconds=35)
    ]  # fmt: skip
    assert later and all(e.shares_w["b2"] == 0 for e in later), "no share goes to the offline battery"
    assert [b.online for b in loop.status().batteries] == [True, False]


@pytest.mark.slow
def test_three_batteries_small_load_runs_the_fewest(tmp_path: Path) -> None:
    clock = ManualClock(START)
    batteries = [BatteryParams(initial_soc_pct=soc) for soc in (40.0, 80.0, 60.0)]
    with loopback_bank_site(
        flat_household(400.0), clock, batteries, meter=MeterParams(lag_s=5.0), origin=START
    ) as site:
        settings = settings_for(site, tmp_path)
        log = EventLog.open_sqlite(tmp_path / "zsm.db", site_id="multi3")
        loop = make_loop(site, settings, log)
        run(loop, site, 180, [ScheduleLoaded(at=START, source="test", schedule=netzero_all_day())])
        outputs = [round(member.battery_w) for member in site.bank.members]
        running = [w for w in outputs if w > 0]
        assert len(running) == 1, f"one battery carries 400 W: {outputs}"
        assert outputs[1] > 300, f"the fullest (80 %) runs: {outputs}"
