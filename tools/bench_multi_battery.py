"""Benchmark several batteries on one meter: zsm through the battery group vs the lagged oracle of the
combined battery, on a real day.

The RAE household trace (6 h at 1 Hz, shipped with the repository) is tiled to 24 h; NetZero all day, meter
lag 20 s, battery status read every 5 s (as the daemon). Each case runs ``zsm`` with the daemon's battery
group (allocator, member reads, offline detection) over N simulated batteries, and the ``lagged-oracle`` on
one battery with the bank's combined capacity and limits. Reported per case:

- ``zsm/oracle``: avoidable grid energy of zsm ÷ that of the lagged oracle of the combined battery;
- ``relay``: acMode switches of all batteries (NetZero only discharges: any switch is a wasted relay cycle);
- ``spread end``: SoC difference between the fullest and the emptiest battery at the end of the day;
- ``balanced at``: first time the spread is ≤ 10 points, and the lowest SoC then (balanced before empty);
- ``offline``: for the case with a battery dropping off while it carries the load, seconds until the others
  carry 90 % of what it carried (a failed read takes it out of the split at once; a battery that answers
  but stops reporting new data is taken out after ``limits.battery_stale_s``).

    python tools/bench_multi_battery.py [--hours H] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from controller.domain.events import BatteryMemberReading, EventBase  # noqa: E402
from controller.domain.regulation import RegulationMode  # noqa: E402
from controller.settings import LimitSettings  # noqa: E402
from controller.simulation.closed_loop import (  # noqa: E402
    Scenario,
    SimResult,
    build_regulator,
    regulation_for,
    run_closed_loop,
    scenario_for,
)
from controller.simulation.plant import BatteryParams, Household, MeterParams, load_trace  # noqa: E402
from controller.simulation.plant_bank import PlantBank, parse_battery_list  # noqa: E402

TRACE = REPO / "controller" / "simulation" / "traces" / "rae_household.csv"


@dataclass(frozen=True)
class Case:
    name: str
    spec: str
    socs: tuple[float, ...]
    offline: tuple[tuple[str, float], ...] = ()
    as_one: bool = False  # the same capacity and limits as ONE battery (what the split costs, if anything)


CASES = (
    Case("1 battery of 2x800's size", "2x800@10000", (30.0, 70.0), as_one=True),
    Case("2x800 30/70 %", "2x800@10000", (30.0, 70.0)),
    Case("3x800 30/50/70 %", "3x800@10000", (30.0, 50.0, 70.0)),
    Case("800+2400 30/70 %", "800@10000,2400@10000", (30.0, 70.0)),
    Case("2x800, b2 (carrying) offline at 2 h", "2x800@10000", (30.0, 90.0), (("b2", 2 * 3600.0),)),
)


def day(hours: float) -> Household:
    base = load_trace(TRACE)
    seconds = int(hours * 3600)
    reps = seconds // base.duration_s + 1
    return Household(
        (base.load_w * reps)[:seconds], (base.pv_w * reps)[:seconds], name=f"rae tiled {hours:g} h"
    )


class MemberSoc:
    """Event sink keeping each member's SoC (and output) over time."""

    def __init__(self, start: Any) -> None:
        self.start = start
        self.soc: dict[float, dict[str, float]] = {}
        self.out: dict[float, dict[str, float]] = {}

    def __call__(self, events: list[EventBase]) -> None:
        for event in events:
            if isinstance(event, BatteryMemberReading):
                t = (event.at - self.start).total_seconds()
                self.soc.setdefault(t, {})[event.battery] = event.soc_pct
                self.out.setdefault(t, {})[event.battery] = event.battery_w


def run_case(case: Case, house: Household, limits: LimitSettings) -> dict[str, Any]:
    base = BatteryParams()
    bank = parse_battery_list(case.spec, base, socs=case.socs)
    combined = PlantBank.combined_params(bank)
    lim = limits.model_copy(
        update={"max_discharge_w": int(combined.max_discharge_w), "max_charge_w": int(combined.max_charge_w)}
    )
    meter = MeterParams(lag_s=20.0)
    multi = Scenario(
        household=house,
        battery=combined,
        meter=meter,
        mode=RegulationMode.NETZERO,
        limits=lim,
        batteries=tuple(bank),
        battery_offline_s=case.offline,
    )
    # the reference: the information limit on one battery of the bank's size (ideal plant, no dead time)
    single = scenario_for("lagged-oracle", replace(multi, batteries=(), battery_offline_s=()))
    sink = MemberSoc(multi.start)
    run = replace(multi, batteries=(), battery_offline_s=()) if case.as_one else multi
    zsm = run_closed_loop(
        run, build_regulator("zsm", run, regulation_for(run)), controller="zsm", event_sink=sink
    )
    oracle = run_closed_loop(
        single, build_regulator("lagged-oracle", single, regulation_for(single)), controller="lagged-oracle"
    )
    return summarise(case, zsm, oracle, sink)


def summarise(case: Case, zsm: SimResult, oracle: SimResult, sink: MemberSoc) -> dict[str, Any]:
    ratio = zsm.metrics.avoidable_wh / oracle.metrics.avoidable_wh if oracle.metrics.avoidable_wh else None
    if case.offline:
        ratio = None  # the oracle keeps both batteries: no like-for-like reference once one drops off
    balanced_at = balanced_low = None
    for t in sorted(sink.soc):
        socs = sink.soc[t]
        live = [v for name, v in socs.items() if not _offline(case, name, t)]
        if len(live) >= 2 and max(live) - min(live) <= 10.0:
            balanced_at, balanced_low = t, min(live)
            break
    final = {m.name: m.final_soc_pct for m in zsm.members}
    live_final = [v for name, v in final.items() if not _offline(case, name, float("inf"))]
    cover_s = None
    for name, at in case.offline:
        times = sorted(sink.out)
        before = [t for t in times if t < at]
        if not before:
            continue
        carried = sink.out[before[-1]].get(name, 0.0)  # what the battery carried when it dropped off
        for t in (t for t in times if t >= at):
            others = sum(w for n, w in sink.out[t].items() if n != name)
            if carried <= 0 or others >= 0.9 * min(carried, 800.0):
                cover_s = t - at
                break
    return {
        "case": case.name,
        "zsm_avoidable_wh": round(zsm.metrics.avoidable_wh, 1),
        "oracle_avoidable_wh": round(oracle.metrics.avoidable_wh, 1),
        "zsm_over_oracle": round(ratio, 3) if ratio is not None else None,
        "relay_switches": sum(m.relay_switches for m in zsm.members),
        "final_soc_pct": final,
        "spread_end_pts": round(max(live_final) - min(live_final), 1) if len(live_final) >= 2 else None,
        "balanced_at_h": round(balanced_at / 3600, 2) if balanced_at is not None else None,
        "lowest_soc_when_balanced_pct": balanced_low,
        "offline_covered_after_s": cover_s,
        "wall_s": round(zsm.wall_s + oracle.wall_s, 1),
    }


def _offline(case: Case, name: str, t: float) -> bool:
    return any(n == name and t >= at for n, at in case.offline)


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "case",
        "zsm/oracle",
        "relay",
        "spread end",
        "balanced at",
        "low SoC then",
        "offline covered",
        "wall s",
    )
    body = [
        (
            r["case"],
            _f(r["zsm_over_oracle"], "{:.3f}"),
            str(r["relay_switches"]),
            _f(r["spread_end_pts"], "{:.1f} pts"),
            _f(r["balanced_at_h"], "{:.2f} h"),
            _f(r["lowest_soc_when_balanced_pct"], "{:.1f} %"),
            _f(r["offline_covered_after_s"], "{:.0f} s"),
            _f(r["wall_s"], "{:.1f}"),
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(widths[i]) for i, c in enumerate(row)) for row in [head, *body])


def _f(value: Any, fmt: str) -> str:
    return "-" if value is None else fmt.format(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours per case (default 24)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    if not 0 < args.hours <= 48:
        parser.error("--hours must be within (0, 48]")
    house = day(args.hours)
    rows = [run_case(case, house, LimitSettings()) for case in CASES]
    if args.json:
        print(json.dumps({"hours": args.hours, "lag_s": 20.0, "cases": rows}, indent=2))
    else:
        print(f"{house.name}, NetZero, lag 20 s, zsm through the battery group vs lagged oracle of the bank")
        print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
