"""Plain-text tables of simulation metrics (for ``zsm simulate`` and the benchmark)."""

from __future__ import annotations

from collections.abc import Sequence

from controller.simulation.metrics import Metrics

__all__ = ["TABLE_COLUMNS", "format_table"]

#: (header, Metrics field, format)
TABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("avoid imp Wh", "avoidable_import_wh", "{:.1f}"),
    ("avoid exp Wh", "avoidable_export_wh", "{:.1f}"),
    ("avoid Wh", "avoidable_wh", "{:.1f}"),
    ("RMS W", "rms_grid_w", "{:.1f}"),
    ("cross/h", "band_crossings_per_h", "{:.1f}"),
    ("settle p95 s", "settle_p95_s", "{:.0f}"),
    ("writes/h", "writes_per_h", "{:.0f}"),
    ("acMode/day", "ac_mode_switches_per_day", "{:.1f}"),
    ("regret ct", "cost_regret_ct", "{:.1f}"),
)


def _cell(value: object, fmt: str) -> str:
    if value is None:
        return "-"
    return fmt.format(value)


def format_table(rows: Sequence[tuple[str, Metrics]], *, label: str = "controller") -> str:
    """One line per (label, metrics) row, aligned columns."""
    headers = [label, *(h for h, _, _ in TABLE_COLUMNS)]
    body = [[name, *(_cell(getattr(m, f), fmt) for _, f, fmt in TABLE_COLUMNS)] for name, m in rows]
    widths = [max(len(str(r[i])) for r in [headers, *body]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(headers))]
    for row in body:
        lines.append(
            "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        )
    return "\n".join(lines)
