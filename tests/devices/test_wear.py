"""Flash-wear and relay bookkeeping: events per write, totals per day, restore from the log."""

from __future__ import annotations

from datetime import timedelta

from controller.clock import ManualClock
from controller.devices.wear import DailyWear, WearCounter, wear_per_day
from controller.domain.events import DeviceWriteCounted, MeterReading


def test_counts_relay_switches_and_flash_writes(clock: ManualClock) -> None:
    wear = WearCounter(clock)
    wear.observe({"acMode": 2, "smartMode": 1})
    assert wear.record({"smartMode": 1, "acMode": 2, "outputLimit": 100, "inputLimit": 0}) is None
    switched = wear.record({"smartMode": 1, "acMode": 1, "outputLimit": 0, "inputLimit": 300})
    assert switched == DeviceWriteCounted(at=clock.now(), ac_mode_switch=True, flash_write=False)
    flash = wear.record({"smartMode": 0, "acMode": 1, "outputLimit": 0, "inputLimit": 0})
    assert flash is not None and flash.flash_write and not flash.ac_mode_switch
    # Without smartMode in the write, the device's current mode (0 now) decides: flash again.
    assert wear.record({"outputLimit": 50}) is not None
    assert wear.today() == DailyWear(ac_mode_switches=1, flash_writes=2)


def test_totals_per_day_and_restore(clock: ManualClock) -> None:
    day1 = clock.now()
    events = [
        DeviceWriteCounted(at=day1, ac_mode_switch=True),
        DeviceWriteCounted(at=day1, flash_write=True),
        MeterReading(at=day1, grid_w=0.0),
        DeviceWriteCounted(at=day1 + timedelta(days=1), ac_mode_switch=True, flash_write=True),
    ]
    totals = wear_per_day(events)
    assert totals[day1.date()] == DailyWear(1, 1)
    assert totals[(day1 + timedelta(days=1)).date()] == DailyWear(1, 1)
    wear = WearCounter(clock)
    wear.restore(events)
    assert wear.today() == DailyWear(1, 1)
    clock.advance(86400)
    assert wear.today() == DailyWear(1, 1)
    clock.advance(86400)
    assert wear.today() == DailyWear()
