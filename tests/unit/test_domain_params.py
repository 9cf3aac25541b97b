"""The core owns its parameters: the domain imports nothing of the configuration, settings build its types."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from controller.domain.params import Limits, RegulationParams
from controller.settings import LimitSettings, RegulationSettings

DOMAIN = Path(__file__).resolve().parents[2] / "controller" / "domain"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("path", sorted(DOMAIN.glob("*.py")), ids=lambda p: p.name)
def test_the_domain_imports_no_settings_and_nothing_outside_itself(path: Path) -> None:
    outside = {
        name
        for name in imported_modules(path)
        if name.startswith("controller") and not name.startswith("controller.domain")
    }
    assert outside == set(), f"{path.name} imports {sorted(outside)}"


def test_default_settings_build_the_default_parameters() -> None:
    assert LimitSettings().domain() == Limits()
    assert RegulationSettings().domain() == RegulationParams()


def test_settings_carry_every_value_into_the_domain() -> None:
    limits = LimitSettings(min_soc_pct=20, max_soc_pct=80, max_charge_w=1200, meter_stale_s=12)
    assert limits.domain() == Limits(min_soc_pct=20, max_soc_pct=80, max_charge_w=1200, meter_stale_s=12)
    regulation = RegulationSettings(lag_s=7.5, deadband_w=40, spike_filter=False)
    assert regulation.domain() == RegulationParams(lag_s=7.5, deadband_w=40, spike_filter=False)


def test_the_parameters_are_frozen_values() -> None:
    limits = Limits()
    with pytest.raises(AttributeError):
        limits.max_charge_w = 5  # type: ignore[misc]
