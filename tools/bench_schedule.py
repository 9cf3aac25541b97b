#!/usr/bin/env python3
"""Schedule validation benchmark: time and error-report size for large and hostile schedules.

Cases: MAX_SLOTS distinct dated slots (valid), MAX_SLOTS identical dated slots (every pair overlaps),
MAX_SLOTS identical recurring slots, and MAX_SLOTS recurring slots spread over the week (valid). Prints a
table, or with ``--json`` one JSON object. Target: every case under 1 s, at most
MAX_OVERLAPS_REPORTED + 1 problems reported.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import ValidationError  # noqa: E402

from controller.domain.schedule import MAX_OVERLAPS_REPORTED, MAX_SLOTS, Schedule  # noqa: E402

TARGETS = {"max_seconds": 1.0, "max_problems": MAX_OVERLAPS_REPORTED + 1}
BASE = datetime(2026, 12, 1)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


def cases(slots: int) -> dict[str, dict[str, Any]]:
    dated = [
        {
            "start": (BASE + timedelta(hours=i)).isoformat(),
            "end": (BASE + timedelta(hours=i + 1)).isoformat(),
            "mode": "standby",
        }
        for i in range(slots)
    ]
    same = {"start": BASE.isoformat(), "end": (BASE + timedelta(days=1)).isoformat(), "mode": "standby"}
    weekly = {"days": DAYS, "start": "01:00", "end": "02:00", "mode": "standby"}
    spread = [
        {
            "days": [DAYS[i % 7]],
            "start": f"{(i // 7) // 6:02d}:{(i // 7) % 6 * 10:02d}",
            "end": f"{(i // 7) // 6:02d}:{(i // 7) % 6 * 10 + 5:02d}",
            "mode": "standby",
        }
        for i in range(min(slots, 7 * 144))
    ]
    return {
        "dated_distinct": {"dated": dated, "timezone": "UTC"},
        "dated_identical": {"dated": [same] * slots},
        "recurring_identical": {"recurring": [weekly] * slots},
        "recurring_spread": {"recurring": spread},
    }


def measure(body: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    try:
        Schedule.model_validate(body)
        problems, reply_bytes = 0, 0
    except ValidationError as err:
        errors = err.errors(include_url=False, include_input=False)
        problems, reply_bytes = len(errors), len(json.dumps(errors, default=str))
    seconds = round(time.perf_counter() - start, 4)
    return {"seconds": seconds, "problems": problems, "reply_bytes": reply_bytes}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=MAX_SLOTS, help="slots per case (default MAX_SLOTS)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results = {name: measure(body) for name, body in cases(args.slots).items()}
    if args.json:
        print(json.dumps({"slots": args.slots, "cases": results, "targets": TARGETS}))
        return 0
    print(f"{'case':<22} {'seconds':>9} {'problems':>9} {'reply bytes':>12}")
    for name, row in results.items():
        print(f"{name:<22} {row['seconds']:>9.3f} {row['problems']:>9} {row['reply_bytes']:>12}")
    print(f"targets: under {TARGETS['max_seconds']} s, at most {TARGETS['max_problems']} problems per case")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
