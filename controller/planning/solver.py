"""The plan as a mixed-integer linear program, solved by HiGHS through ``scipy.optimize.milp``.

Per step t (length h hours) the variables are charge ``c``, discharge ``d``, grid import ``i`` and export
``e`` (W, averages), stored energy ``E`` at the end of the step (Wh), and two binaries: ``u`` (charging,
not discharging) and ``g`` (importing, not exporting). Constraints:

- balance: ``i − e = load + c − d`` (load = house minus PV; + means the house would import);
- energy: ``E[t] = E[t−1] + h·(η_c·c − d/η_d)``, ``E_min ≤ E ≤ E_max``;
- limits: ``c ≤ P_c·u``, ``d ≤ P_d·(1−u)``, ``i ≤ G·g``, ``e ≤ G·(1−g)``; without grid charging ``c`` is
  capped by the forecast surplus, without export discharge ``d`` by the forecast import.

Objective: minimise ``Σ h/1000·(p_imp·i − p_exp·e + wear·d) − v·E[T]/1000``. The terminal value ``v`` is the
horizon's median import price times η_d: energy left at the end is worth what it would save later, so the
plan neither dumps the battery at the horizon nor hoards energy bought dear.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from controller.planning.model import PlanProblem, PlanResult, PlanStep

__all__ = ["PlanSolveError", "solve"]

_C, _D, _I, _E, _S, _U, _G = range(7)
_NOISE_W = 0.5


class PlanSolveError(Exception):
    """The solver found no plan (the message carries its status)."""


def terminal_value_eur_per_kwh(problem: PlanProblem) -> float:
    """What a kWh left in the battery at the horizon's end is worth."""
    median = statistics.median(problem.import_eur_per_kwh)
    return max(0.0, median * problem.battery.discharge_efficiency - problem.battery.wear_eur_per_kwh)


def solve(problem: PlanProblem, monotonic: Callable[[], float] | None = None) -> PlanResult:
    """The cheapest plan for ``problem``; ``monotonic`` (e.g. ``clock.monotonic``) times the solve."""
    began = monotonic() if monotonic else 0.0
    battery = problem.battery
    steps, hours = problem.steps, problem.hours
    grid = problem.grid_limit_w
    load = np.asarray(problem.net_load_w, dtype=float)
    p_imp = np.asarray(problem.import_eur_per_kwh, dtype=float)
    p_exp = np.asarray(problem.export_eur_per_kwh, dtype=float)
    e_min = battery.capacity_wh * battery.min_soc_pct / 100
    e_max = battery.capacity_wh * battery.max_soc_pct / 100
    e_now = battery.capacity_wh * problem.soc_now_pct / 100
    e_low, e_high = min(e_min, e_now), max(e_max, e_now)

    def col(kind: int, t: int) -> int:
        return kind * steps + t

    n = 7 * steps
    cost = np.zeros(n)
    cost[_I * steps : (_I + 1) * steps] = hours / 1000 * p_imp
    cost[_E * steps : (_E + 1) * steps] = -hours / 1000 * p_exp
    cost[_D * steps : (_D + 1) * steps] = hours / 1000 * battery.wear_eur_per_kwh
    cost[col(_S, steps - 1)] = -terminal_value_eur_per_kwh(problem) / 1000

    charge_cap = np.full(steps, battery.max_charge_w)
    if not battery.grid_charge:
        charge_cap = np.minimum(charge_cap, np.maximum(-load, 0))
    discharge_cap = np.full(steps, battery.max_discharge_w)
    if not battery.export_discharge:
        discharge_cap = np.minimum(discharge_cap, np.maximum(load, 0))
    lower = np.zeros(n)
    upper = np.concatenate(
        [
            charge_cap,
            discharge_cap,
            np.full(steps, grid),
            np.full(steps, grid),
            np.full(steps, e_high),
            np.ones(steps),
            np.ones(steps),
        ]
    )
    lower[_S * steps : (_S + 1) * steps] = e_low
    upper[_S * steps : (_S + 1) * steps] = e_high
    integrality = np.zeros(n)
    integrality[_U * steps :] = 1

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []

    def add(terms: list[tuple[int, float]], low: float, high: float) -> None:
        row = len(lo)
        for column, value in terms:
            rows.append(row)
            cols.append(column)
            vals.append(value)
        lo.append(low)
        hi.append(high)

    for t in range(steps):
        c, d, i, e, s = col(_C, t), col(_D, t), col(_I, t), col(_E, t), col(_S, t)
        u, g = col(_U, t), col(_G, t)
        add([(i, 1), (e, -1), (c, -1), (d, 1)], load[t], load[t])
        flow = [(s, 1), (c, -hours * battery.charge_efficiency), (d, hours / battery.discharge_efficiency)]
        if t == 0:
            add(flow, e_now, e_now)
        else:
            add([*flow, (col(_S, t - 1), -1)], 0, 0)
        add([(c, 1), (u, -battery.max_charge_w)], -np.inf, 0)
        add([(d, 1), (u, battery.max_discharge_w)], -np.inf, battery.max_discharge_w)
        add([(i, 1), (g, -grid)], -np.inf, 0)
        add([(e, 1), (g, grid)], -np.inf, grid)
    # The SoC window binds from the first step on, except that a start outside it may return gradually.
    matrix = coo_matrix((vals, (rows, cols)), shape=(len(lo), n)).tocsr()
    result = milp(
        cost,
        constraints=LinearConstraint(matrix, np.asarray(lo), np.asarray(hi)),
        integrality=integrality,
        bounds=Bounds(lower, upper),
        options={"time_limit": 30.0, "mip_rel_gap": 1e-4},
    )
    if result.x is None:
        raise PlanSolveError(f"no plan: {result.message}")
    x = np.asarray(result.x)
    return _result(problem, x, e_now, (monotonic() - began) if monotonic else 0.0, str(result.message))


def _clean(value: float) -> float:
    return 0.0 if abs(value) < _NOISE_W else float(value)


def _result(problem: PlanProblem, x: np.ndarray, e_now: float, solve_s: float, status: str) -> PlanResult:
    steps, capacity = problem.steps, problem.battery.capacity_wh
    planned = []
    before = e_now
    for t in range(steps):
        after = float(x[_S * steps + t])
        planned.append(
            PlanStep(
                start=problem.step_start(t),
                end=problem.step_start(t + 1),
                charge_w=_clean(x[_C * steps + t]),
                discharge_w=_clean(x[_D * steps + t]),
                import_w=_clean(x[_I * steps + t]),
                export_w=_clean(x[_E * steps + t]),
                net_load_w=problem.net_load_w[t],
                soc_start_pct=100 * before / capacity,
                soc_end_pct=100 * after / capacity,
                import_eur_per_kwh=problem.import_eur_per_kwh[t],
                export_eur_per_kwh=problem.export_eur_per_kwh[t],
            )
        )
        before = after
    return PlanResult(
        steps=tuple(planned),
        cost_eur=sum(step.cost_eur for step in planned),
        cost_without_battery_eur=sum(step.cost_without_battery_eur for step in planned),
        solve_s=solve_s,
        status=status,
    )
