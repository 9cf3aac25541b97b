"""The pure domain (controller/domain) imports nothing that does I/O: checked on the source with ``ast``."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

DOMAIN = Path(__file__).resolve().parents[2] / "controller" / "domain"
FORBIDDEN = (
    "requests",
    "sqlalchemy",
    "socket",
    "urllib",
    "http",
    "httpx",
    "aiohttp",
    "websockets",
    "storage",
)
MODULES = sorted(DOMAIN.glob("*.py"))


def imported_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__":
            names.update(
                arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            )
    return names


def test_domain_modules_exist() -> None:
    names = {path.stem for path in MODULES}
    assert {"schedule", "states", "machine", "projection", "inputs", "events", "commands"} <= names


@pytest.mark.parametrize("path", MODULES, ids=[path.name for path in MODULES])
def test_no_io_imports(path: Path) -> None:
    bad = sorted(
        name for name in imported_names(path) if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )
    assert not bad, f"{path.name} imports {bad}: the domain must stay pure (no I/O)"


def test_importing_the_domain_loads_no_io_library() -> None:
    """Also transitively: importing every domain module pulls in neither requests nor sqlalchemy."""
    modules = ", ".join(repr(f"controller.domain.{path.stem}") for path in MODULES if path.stem != "__init__")
    code = (
        "import importlib, sys\n"
        f"for name in [{modules}]: importlib.import_module(name)\n"
        "io = ('requests', 'sqlalchemy', 'http.client', 'urllib.request', 'httpx')\n"
        "bad = [m for m in io if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=DOMAIN.parents[1],
        timeout=60,
    )
    assert result.stdout.strip() == ""


def test_the_checker_finds_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom sqlalchemy.orm import Session\nimport http.client as c\n", encoding="utf-8"
    )
    assert {"sqlalchemy.orm", "http.client", "os"} == imported_names(sample)
