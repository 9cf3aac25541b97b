"""Nothing outside controller/clock.py reads the wall clock (checked on the source with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controller.clock import ManualClock, utc

REPO = Path(__file__).resolve().parents[2]
ALLOWED = {REPO / "controller" / "clock.py"}
FORBIDDEN_ATTRS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "sleep"),
}
FORBIDDEN_FROM_IMPORTS = {("time", "time"), ("time", "monotonic"), ("time", "sleep"), ("time", "time_ns")}


def _violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if (node.value.id, node.attr) in FORBIDDEN_ATTRS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value.id}.{node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            if (node.value.attr, node.attr) in FORBIDDEN_ATTRS:
                found.append(f"{path.relative_to(REPO)}:{node.lineno} ...{node.value.attr}.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "time":
            for alias in node.names:
                if ("time", alias.name) in FORBIDDEN_FROM_IMPORTS:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} from time import {alias.name}")
    return found


def test_only_the_clock_module_reads_the_wall_clock() -> None:
    sources = [p for pkg in ("controller", "storage") for p in (REPO / pkg).rglob("*.py") if p not in ALLOWED]
    assert sources
    violations = [v for path in sources for v in _violations(path)]
    assert violations == [], "wall-clock access outside controller/clock.py:\n" + "\n".join(violations)


def test_the_checker_catches_a_violation(tmp_path: Path) -> None:
    bad = REPO / "controller" / "_tmp_bad_clock_probe.py"
    bad.write_text("import datetime, time\nx = datetime.datetime.now()\ny = time.time()\n")
    try:
        assert len(_violations(bad)) == 2
    finally:
        bad.unlink()


def test_manual_clock_moves_only_when_told() -> None:
    from datetime import UTC, datetime, timedelta

    clock = ManualClock(datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC))
    assert clock.now() == clock.now()
    clock.sleep(2)
    assert clock.now() == datetime(2026, 3, 29, 1, 0, 1, tzinfo=UTC)
    assert clock.monotonic() == 2
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.set(clock.now() + timedelta(minutes=1))
    assert clock.monotonic() == 62
    assert utc(datetime(2026, 1, 1)).tzinfo is UTC
