"""Regulation-quality metrics of a simulation run (definitions after peers-and-metrics §3.2).

Per second with grid ``g`` (+ import), battery ``b`` (+ discharge) and the effective limits, in the regulated
windows only (``mode`` set):

- error ``e``: NetZero ``g``; NetZero+ ``min(0, g)`` (import is allowed there);
- avoidable import = ``min(g, hi − b)`` for ``g > 0``, ``hi`` = discharge limit in NetZero, 0 in NetZero+
  (so in NetZero+ only import caused by charging counts); avoidable export = ``min(−g, b − lo)`` for
  ``g < 0``, ``lo`` = −charge limit in NetZero+, 0 in NetZero. The limits already drop to 0 at the SoC
  cut-offs, so saturation is not blamed on the controller;
- RMS of ``e``; sign changes of ``e`` across a ±20 W band per hour; settle time after load events (|Δnet| ≥
  100 W): until the avoidable error stays below 25 W for 10 s, within 600 s;
- effort: limit writes per hour, acMode switches per day (charge ↔ discharge commands; standby keeps the
  relay), flash writes (standby commands, sent with ``smartMode: 0``), battery travel per hour;
- money: an asymmetric tariff (30 ct/kWh import, 8 ct/kWh export) and the regret against a lossless oracle
  battery that zeroes the grid whenever its limits and SoC allow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict

from controller.simulation.timeseries import SimSeries

__all__ = ["Metrics", "OracleBattery", "Tariff", "compute_metrics"]

BAND_W = 20.0
SETTLE_BAND_W = 25.0
SETTLE_HOLD_S = 10
SETTLE_WINDOW_S = 600
EVENT_STEP_W = 100.0


@dataclass(frozen=True)
class Tariff:
    """Prices in cents per kWh."""

    import_ct_per_kwh: float = 30.0
    export_ct_per_kwh: float = 8.0


@dataclass(frozen=True)
class OracleBattery:
    """The lossless aggregate battery of the cost regret."""

    capacity_wh: float
    initial_soc_pct: float
    min_soc_pct: float
    max_soc_pct: float
    max_discharge_w: float
    max_charge_w: float


class Metrics(BaseModel):
    """One run's figures (stable names; units in the names)."""

    model_config = ConfigDict(frozen=True)

    regulated_h: float
    import_wh: float
    export_wh: float
    avoidable_import_wh: float
    avoidable_export_wh: float
    avoidable_wh: float
    rms_grid_w: float
    grid_p2p_w: float
    band_crossings_per_h: float
    settle_p95_s: float | None
    unsettled_events: int
    load_events: int
    writes: int
    writes_per_h: float
    ac_mode_switches: int
    ac_mode_switches_per_day: float
    flash_writes: int
    battery_travel_w_per_h: float
    cost_ct: float
    oracle_cost_ct: float | None
    cost_regret_ct: float | None
    soc_min_pct: float
    soc_max_pct: float


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    pos = (len(sorted_values) - 1) * q
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def _oracle_cost(series: SimSeries, battery: OracleBattery, tariff: Tariff) -> float:
    energy = battery.capacity_wh * battery.initial_soc_pct / 100
    lo_wh = battery.capacity_wh * battery.min_soc_pct / 100
    hi_wh = battery.capacity_wh * battery.max_soc_pct / 100
    cost = 0.0
    for i in range(len(series)):
        mode = series.mode[i]
        if not mode:
            continue
        net = series.load_w[i] - series.pv_w[i]
        if mode == "netzero":
            b = min(max(net, 0.0), battery.max_discharge_w, max(0.0, (energy - lo_wh) * 3600))
        else:
            b = max(min(net, 0.0), -battery.max_charge_w, -max(0.0, (hi_wh - energy) * 3600))
        energy -= b / 3600
        g = net - b
        cost += (g * tariff.import_ct_per_kwh if g > 0 else g * tariff.export_ct_per_kwh) / 3.6e6
    return cost


def compute_metrics(
    series: SimSeries, *, oracle: OracleBattery | None = None, tariff: Tariff | None = None
) -> Metrics:
    """Compute :class:`Metrics` from a per-second series (1 s spacing)."""
    tariff = tariff or Tariff()
    n = len(series)
    imp = exp = av_imp = av_exp = sq = travel = cost = 0.0
    regulated = 0
    errors: list[float] = []
    avoidable_err = [0.0] * n
    crossings = 0
    side = 0
    g_all = series.grid_w
    b_all = series.battery_w
    for i in range(n):
        mode = series.mode[i]
        if not mode:
            continue
        regulated += 1
        g = g_all[i]
        b = b_all[i]
        if g > 0:
            imp += g
            hi = series.max_discharge_w[i] if mode == "netzero" else 0.0
            a = min(g, max(0.0, hi - b))
            av_imp += a
            cost += g * tariff.import_ct_per_kwh / 3.6e6
        else:
            exp -= g
            lo = -series.max_charge_w[i] if mode == "netzero_plus" else 0.0
            a = min(-g, max(0.0, b - lo))
            av_exp += a
            cost += g * tariff.export_ct_per_kwh / 3.6e6
        avoidable_err[i] = a
        e = g if mode == "netzero" else min(0.0, g)
        errors.append(e)
        sq += e * e
        if e > BAND_W:
            if side < 0:
                crossings += 1
            side = 1
        elif e < -BAND_W:
            if side > 0:
                crossings += 1
            side = -1
        if i > 0 and series.mode[i - 1]:
            travel += abs(b - b_all[i - 1])
    hours = regulated / 3600.0
    # Settle times after load events.
    ok_run = [0] * (n + 1)
    for i in range(n - 1, -1, -1):
        ok_run[i] = ok_run[i + 1] + 1 if avoidable_err[i] < SETTLE_BAND_W else 0
    settle: list[float] = []
    unsettled = 0
    events = 0
    for i in range(1, n):
        if not series.mode[i]:
            continue
        net_now = series.load_w[i] - series.pv_w[i]
        net_before = series.load_w[i - 1] - series.pv_w[i - 1]
        if abs(net_now - net_before) < EVENT_STEP_W:
            continue
        events += 1
        end = min(n, i + SETTLE_WINDOW_S)
        j = i
        while j < end and ok_run[j] < SETTLE_HOLD_S:
            j += 1
        if j < end:
            settle.append(float(j - i))
        else:
            unsettled += 1
    settle.sort()
    # Writes, acMode switches and flash writes.
    writes = 0
    switches = 0
    flash = 0
    ac_mode = 0
    for _t, w in series.commands:
        writes += 1
        if w == 0:
            flash += 1
            continue
        new_mode = 2 if w > 0 else 1
        if ac_mode and new_mode != ac_mode:
            switches += 1
        ac_mode = new_mode
    days = n / 86400.0 if n else 1.0
    oracle_cost = _oracle_cost(series, oracle, tariff) if oracle is not None else None
    sorted_grid = sorted(g_all[i] for i in range(n) if series.mode[i])
    return Metrics(
        regulated_h=round(hours, 4),
        import_wh=round(imp / 3600, 2),
        export_wh=round(exp / 3600, 2),
        avoidable_import_wh=round(av_imp / 3600, 2),
        avoidable_export_wh=round(av_exp / 3600, 2),
        avoidable_wh=round((av_imp + av_exp) / 3600, 2),
        rms_grid_w=round(math.sqrt(sq / regulated), 2) if regulated else 0.0,
        grid_p2p_w=round(_percentile(sorted_grid, 0.95) - _percentile(sorted_grid, 0.05), 1),
        band_crossings_per_h=round(crossings / hours, 2) if hours else 0.0,
        settle_p95_s=round(_percentile(settle, 0.95), 1) if settle else None,
        unsettled_events=unsettled,
        load_events=events,
        writes=writes,
        writes_per_h=round(writes / hours, 1) if hours else 0.0,
        ac_mode_switches=switches,
        ac_mode_switches_per_day=round(switches / days, 1),
        flash_writes=flash,
        battery_travel_w_per_h=round(travel / hours, 1) if hours else 0.0,
        cost_ct=round(cost, 2),
        oracle_cost_ct=round(oracle_cost, 2) if oracle_cost is not None else None,
        cost_regret_ct=round(cost - oracle_cost, 2) if oracle_cost is not None else None,
        soc_min_pct=round(min(series.soc_pct), 2) if n else 0.0,
        soc_max_pct=round(max(series.soc_pct), 2) if n else 0.0,
    )
