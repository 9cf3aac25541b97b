"""Several simulated batteries in the closed loop, through the daemon's battery group (virtual time)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from controller.domain.events import BatteryMemberReading, BatterySharesAssigned, EventBase
from controller.domain.regulation import RegulationMode
from controller.settings import LimitSettings
from controller.simulation.closed_loop import Scenario, build_regulator, regulation_for, run_closed_loop
from controller.simulation.plant import BatteryParams, Household, MeterParams
from controller.simulation.plant_bank import PlantBank, battery_file, parse_battery_list


def steps(seconds: int = 1800) -> Household:
    """300 W → 1300 W → 600 W → 1500 W … every 5 minutes: often more than one 800 W battery."""
    levels = (300.0, 1300.0, 600.0, 1500.0, 900.0, 200.0)
    load = tuple(levels[(t // 300) % len(levels)] for t in range(seconds))
    return Household(load, tuple(0.0 for _ in range(seconds)), name="steps")


def scenario(bank: list[BatteryParams], **extra: object) -> Scenario:
    combined = PlantBank.combined_params(bank)
    limits = LimitSettings(
        max_discharge_w=int(combined.max_discharge_w), max_charge_w=int(combined.max_charge_w)
    )
    return Scenario(
        household=steps(),
        battery=combined,
        meter=MeterParams(lag_s=5.0),
        mode=RegulationMode.NETZERO,
        limits=limits,
        batteries=tuple(bank),
        **extra,  # type: ignore[arg-type]
    )


def test_two_batteries_follow_the_total_like_one_battery_of_their_size() -> None:
    multi = scenario(parse_battery_list("2x800", BatteryParams(), socs=(40.0, 60.0)))
    events: list[EventBase] = []
    zsm = run_closed_loop(
        multi, build_regulator("zsm", multi, regulation_for(multi)), event_sink=events.extend
    )
    single = replace(multi, batteries=())
    one = run_closed_loop(single, build_regulator("zsm", single, regulation_for(single)))
    assert zsm.metrics.avoidable_wh <= 1.15 * one.metrics.avoidable_wh + 5, (
        f"two: {zsm.metrics.avoidable_wh:.1f} Wh, one of their size: {one.metrics.avoidable_wh:.1f} Wh"
    )
    assert [m.relay_switches for m in zsm.members] == [0, 0], "no relay switch in NetZero"
    shares = [e for e in events if isinstance(e, BatterySharesAssigned)]
    assert any(all(w > 0 for w in s.shares_w.values()) for s in shares), "1.5 kW needs both"
    assert any(sum(1 for w in s.shares_w.values() if w > 0) == 1 for s in shares), "300 W needs one"
    assert {e.battery for e in events if isinstance(e, BatteryMemberReading)} == {"b1", "b2"}


def test_an_offline_battery_is_covered_within_one_write_interval_after_it_is_noticed() -> None:
    multi = scenario(
        parse_battery_list("2x800", BatteryParams(), socs=(30.0, 90.0)), battery_offline_s=(("b2", 600.0),)
    )
    events: list[EventBase] = []
    run_closed_loop(multi, build_regulator("zsm", multi, regulation_for(multi)), event_sink=events.extend)
    b1_after = [
        (e.at - multi.start).total_seconds()
        for e in events
        if isinstance(e, BatteryMemberReading) and e.battery == "b1" and e.battery_w >= 700
        and (e.at - multi.start).total_seconds() >= 600
    ]  # fmt: skip
    assert b1_after, "b1 takes the load after b2 drops off"
    noticed = 600 + multi.limits.battery_stale_s
    assert b1_after[0] - noticed <= 15, f"covered {b1_after[0] - 600:.0f} s after b2 dropped off"


def test_battery_specs_are_validated(tmp_path: Path) -> None:
    bank = parse_battery_list("2x800@15000,2400", BatteryParams(), socs=(30, 70, 50))
    assert [(b.max_discharge_w, b.capacity_wh, b.initial_soc_pct) for b in bank] == [
        (800.0, 15000.0, 30.0), (800.0, 15000.0, 70.0), (2400.0, 2880.0, 50.0)
    ]  # fmt: skip
    for bad in ("", "3xfoo", "9x800", "800@lots", "x" * 300):
        with pytest.raises(ValueError):
            parse_battery_list(bad, BatteryParams())
    with pytest.raises(ValueError, match="SoCs"):
        parse_battery_list("2x800", BatteryParams(), socs=(30,))
    good = tmp_path / "bank.json"
    good.write_text('[{"model": "800", "capacity_wh": 5000}, {"max_discharge_w": 1200}]')
    assert [b.capacity_wh for b in battery_file(good, BatteryParams())] == [5000.0, 1920.0]
    bad_file = tmp_path / "bad.json"
    bad_file.write_text('[{"model": "800", "colour": "red"}]')
    with pytest.raises(ValueError, match="unknown fields"):
        battery_file(bad_file, BatteryParams())
