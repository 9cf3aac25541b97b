"""``zsm plan`` end to end: a price file covering now, a person's schedule, the merged schedule out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from controller.cli import main
from controller.prices import energyzero

PRICES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "prices"


def shifted_prices(tmp_path: Path) -> Path:
    """The real 72 hourly prices of the fixture, moved to start at the current hour (as a generic CSV)."""
    real = energyzero.parse((PRICES / "energyzero_hour_2025-12-16.json").read_bytes())
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    rows = ["start,end,price"]
    for n, price in enumerate(real[:40]):
        a = start + n * timedelta(hours=1)
        rows.append(f"{a.isoformat()},{(a + timedelta(hours=1)).isoformat()},{price.eur_per_kwh}")
    path = tmp_path / "prices.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_plan_writes_a_valid_schedule_with_the_persons_slots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    person = {
        "timezone": "Europe/Amsterdam",
        "recurring": [
            {
                "id": "nightly",
                "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                "start": "02:00",
                "end": "03:00",
                "mode": "standby",
            }
        ],
    }
    (tmp_path / "mine.json").write_text(json.dumps(person))
    out = tmp_path / "planned.json"
    code = main(
        [
            "plan",
            "--prices",
            str(shifted_prices(tmp_path)),
            "--soc",
            "50",
            "--log",
            str(tmp_path / "none.db"),
            "--schedule",
            str(tmp_path / "mine.json"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    planned = json.loads(out.read_text())
    assert planned["recurring"][0]["id"] == "nightly"
    assert planned["dated"] and all(slot["plan"]["planner"] == "zsm plan" for slot in planned["dated"])
    assert "EUR/kWh" in capsys.readouterr().err  # the slots with their reasons


def test_plan_with_stale_prices_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["plan", "--prices", str(PRICES / "energyzero_hour_2025-12-16.json"), "--soc", "50"])
    assert code == 2
    assert "no prices from" in capsys.readouterr().err
