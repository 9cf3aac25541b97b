"""Set a few ``key = value`` pairs in one section of a TOML config file, keeping everything else as is."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path

__all__ = ["set_toml_values", "update_toml_file"]

Value = str | int | float | bool

_HEADER = re.compile(r"^\s*\[([^\[\]]+)\]\s*(#.*)?$")


def _format(value: Value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value)  # JSON strings and numbers are valid TOML


def set_toml_values(text: str, section: str, values: Mapping[str, Value]) -> str:
    """``text`` with ``values`` set in ``[section]`` (added when missing). The result is checked to parse."""
    lines = text.splitlines()
    start = next(
        (i for i, line in enumerate(lines) if (m := _HEADER.match(line)) and m.group(1).strip() == section),
        None,
    )
    if start is None:
        if lines and lines[-1].strip():
            lines.append("")
        lines.append(f"[{section}]")
        lines += [f"{key} = {_format(value)}" for key, value in values.items()]
    else:
        end = next((i for i in range(start + 1, len(lines)) if _HEADER.match(lines[i])), len(lines))
        remaining = dict(values)
        for i in range(start + 1, end):
            key = lines[i].split("=", 1)[0].strip()
            if "=" in lines[i] and key in remaining:
                lines[i] = f"{key} = {_format(remaining.pop(key))}"
        insert_at = end
        while insert_at > start + 1 and not lines[insert_at - 1].strip():
            insert_at -= 1
        lines[insert_at:insert_at] = [f"{key} = {_format(value)}" for key, value in remaining.items()]
    result = "\n".join(lines) + "\n"
    tomllib.loads(result)
    return result


def update_toml_file(path: Path, section: str, values: Mapping[str, Value]) -> None:
    """Apply :func:`set_toml_values` to the file at ``path`` (created when missing)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    path.write_text(set_toml_values(text, section, values), encoding="utf-8")
