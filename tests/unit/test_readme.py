"""README contracts: the configuration reference matches the settings model, the quick start has exactly
two commands, and CI runs the README's test command."""

from __future__ import annotations

import re
from pathlib import Path

from controller.settings_doc import BEGIN, END, config_reference, replace_block

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()


def _quick_start_commands() -> list[str]:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "the quick start has a sh code block"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def test_config_reference_is_generated_from_the_settings_model() -> None:
    assert BEGIN in README and END in README
    assert replace_block(README) == README, "run: python -m controller.settings_doc --write README.md"
    for line in config_reference().splitlines()[2:]:
        assert line in README


def test_quick_start_is_exactly_two_commands() -> None:
    commands = _quick_start_commands()
    assert len(commands) == 2
    assert any(c.endswith(" demo") for c in commands) and any(c.endswith(" test") for c in commands)


def test_ci_runs_the_readme_test_command() -> None:
    test_command = next(c for c in _quick_start_commands() if c.endswith(" test"))
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert test_command in ci_lines
