"""Text and JSON for ``zsm plan``: the planned slots with their reasons, and the backtest table."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from controller.domain.schedule import DatedSlot, Schedule
from controller.planning.backtest import BacktestReport

__all__ = ["backtest_json", "format_backtest", "format_slots"]

_LABELS = {
    "plan": "plan (zsm plan)",
    "netzero": "NetZero all day",
    "netzero_both": "NetZero + NetZero+ all day",
    "no_battery": "no battery",
}


def _action(slot: DatedSlot) -> str:
    if slot.power_w is not None:
        return f"{slot.mode} {slot.power_w} W"
    if slot.max_w is not None:
        return f"{slot.mode} ≤{slot.max_w} W"
    return str(slot.mode)


def _slot_line(slot: DatedSlot, timezone: str) -> str:
    tz = ZoneInfo(timezone)
    start = slot.start if slot.start.tzinfo else slot.start.replace(tzinfo=tz)
    end = slot.end if slot.end.tzinfo else slot.end.replace(tzinfo=tz)
    note = slot.plan
    soc = f"{note.expected_soc_start_pct:.0f}→{note.expected_soc_end_pct:.0f}%" if note else ""
    reason = note.reason if note else "(a person's slot)"
    return (
        f"{start.astimezone(tz):%a %H:%M}–{end.astimezone(tz):%H:%M}  {_action(slot):<22} {soc:>9}  {reason}"
    )


def format_slots(schedule: Schedule, timezone: str) -> str:
    """One line per dated slot: time, action, expected SoC, why."""
    return "\n".join(_slot_line(slot, timezone) for slot in schedule.dated)


def format_backtest(report: BacktestReport, timezone: str) -> str:
    """The per-day cost table, then the plan's decisions."""
    tz = ZoneInfo(timezone)
    lines = [
        f"backtest {report.start.astimezone(tz):%Y-%m-%d %H:%M} – {report.end.astimezone(tz):%Y-%m-%d %H:%M} "
        f"{tz} ({report.days:.2f} days); stored energy valued at "
        f"{report.stored_value_eur_per_kwh:.3f} EUR/kWh",
        f"{'strategy':<28} {'EUR/day':>9} {'import kWh':>11} {'export kWh':>11} {'SoC end':>8}",
    ]
    for name, outcome in report.outcomes.items():
        lines.append(
            f"{_LABELS[name]:<28} {report.per_day(name):>9.3f} {outcome.import_kwh / report.days:>11.2f} "
            f"{outcome.export_kwh / report.days:>11.2f} {outcome.soc_end_pct:>7.0f}%"
        )
    base = report.per_day("no_battery")
    lines.append(
        f"saving per day vs no battery: plan {base - report.per_day('plan'):.3f} EUR, "
        f"NetZero {base - report.per_day('netzero'):.3f} EUR; solve {report.plan.status}"
    )
    lines.append("decisions:")
    lines.extend("  " + _slot_line(slot, timezone) for slot in report.slots)
    return "\n".join(lines)


def backtest_json(report: BacktestReport) -> dict[str, Any]:
    """The backtest as one JSON object."""
    return {
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "days": report.days,
        "stored_value_eur_per_kwh": report.stored_value_eur_per_kwh,
        "eur_per_day": {name: report.per_day(name) for name in report.outcomes},
        "outcomes": {
            name: {
                "import_kwh": o.import_kwh,
                "export_kwh": o.export_kwh,
                "cost_eur": o.cost_eur,
                "net_cost_eur": o.net_cost_eur,
                "soc_start_pct": o.soc_start_pct,
                "soc_end_pct": o.soc_end_pct,
            }
            for name, o in report.outcomes.items()
        },
        "slots": [slot.model_dump(mode="json", exclude_none=True) for slot in report.slots],
    }
