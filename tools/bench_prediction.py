#!/usr/bin/env python3
"""Does short-horizon load prediction beat persistence? (issue 12: "measured, kept only if it wins").

The regulator acts on the net load ``lag + dead time`` seconds before the moment it matters: 12 s (lag
10 s) or 22 s (the nominal 20 s lag). For each trace and horizon, every predictor of
:mod:`controller.simulation.prediction` is scored by its mean absolute error and by the residual of an
ideal 800 W / 1000 W battery following its guess (NetZero: 0..800 W out; NetZero+: 0..1000 W in);
``× persistence`` < 1 means it would help. A predictor "wins" only if it is at least 2 % better than
persistence on every trace at every horizon.

    python tools/bench_prediction.py [--hours H] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from controller.simulation.plant import Household, load_trace, synthetic_household  # noqa: E402
from controller.simulation.prediction import PREDICTORS, score  # noqa: E402

TRACES = REPO / "controller" / "simulation" / "traces"
HORIZONS_S = (12, 22)
WIN_MARGIN = 0.98
BOUNDS = {"NetZero": (0.0, 800.0), "NetZero+": (-1000.0, 0.0)}


def traces(hours: float) -> dict[str, tuple[Household, str]]:
    """The shipped traces (whole, or cut to ``hours``) and the synthetic household from 08:00."""
    out: dict[str, tuple[Household, str]] = {}
    rae, cyprus = TRACES / "rae_household.csv", TRACES / "cyprus_netload.csv"
    if rae.is_file():
        out["rae"] = (load_trace(rae), "NetZero")
    if cyprus.is_file():
        out["cyprus ×0.45"] = (load_trace(cyprus, scale=0.45), "NetZero+")
    synthetic = synthetic_household(seed=1, duration_s=int(hours * 3600), start_hour=8.0)
    out["synthetic"] = (synthetic, "NetZero")
    out["synthetic+"] = (synthetic, "NetZero+")
    return out


def _ratio(residual_wh: float, base_wh: float) -> float | None:
    """Residual over persistence's (None when persistence had none and this one had some)."""
    if base_wh <= 0.0:
        return 1.0 if residual_wh <= 0.0 else None
    return round(residual_wh / base_wh, 3)


def rows(hours: float) -> list[dict[str, Any]]:
    """One row per (trace, horizon, predictor)."""
    out: list[dict[str, Any]] = []
    for trace, (house, mode) in traces(hours).items():
        seconds = min(int(hours * 3600), int(house.duration_s))
        net = np.array([house.net_at(float(t)) for t in range(seconds)])
        low, high = BOUNDS[mode]
        for horizon in HORIZONS_S:
            base = score("persistence", net, horizon, low, high)
            for name in PREDICTORS:
                s = base if name == "persistence" else score(name, net, horizon, low, high)
                out.append(
                    {
                        "trace": trace,
                        "mode": mode,
                        "horizon_s": horizon,
                        "predictor": name,
                        "mae_w": s.mae_w,
                        "residual_wh": s.residual_wh,
                        "vs_persistence": _ratio(s.residual_wh, base.residual_wh),
                    }
                )
    return out


def winners(table: list[dict[str, Any]]) -> list[str]:
    """Predictors at least 2 % better than persistence on every trace and horizon."""
    return [
        name
        for name in PREDICTORS
        if name != "persistence"
        and all(
            r["vs_persistence"] is not None and r["vs_persistence"] <= WIN_MARGIN
            for r in table
            if r["predictor"] == name
        )
    ]


def format_rows(table: list[dict[str, Any]]) -> str:
    headers = ["trace", "mode", "horizon s", "predictor", "MAE W", "residual Wh", "× persistence"]
    keys = ["trace", "mode", "horizon_s", "predictor", "mae_w", "residual_wh", "vs_persistence"]
    body = [[str(r[k]) for k in keys] for r in table]
    widths = [max(len(x) for x in col) for col in zip(headers, *body, strict=False)]
    line = "  ".join
    return "\n".join(
        [line(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
        + [line(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in body]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hours", type=float, default=6.0, help="cut each trace to this many hours")
    parser.add_argument("--json", action="store_true", help="print one JSON object with every figure")
    args = parser.parse_args(argv)
    wall0 = time.perf_counter()
    table = rows(args.hours)
    wins = winners(table)
    wall = round(time.perf_counter() - wall0, 1)
    if args.json:
        print(json.dumps({"hours": args.hours, "rows": table, "winners": wins, "wall_s": wall}, indent=1))
    else:
        print(format_rows(table))
        print(f"\nPredictors that beat persistence by ≥ 2 % everywhere: {', '.join(wins) or 'none'}")
        print(f"Benchmark: {wall} s wall.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
