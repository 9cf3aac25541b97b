#!/usr/bin/env python3
"""The two quick-start commands, each bootstrapping its own virtual environment.

    python3 tools/quickstart.py demo [zsm demo options]   # the whole system on loopback
    python3 tools/quickstart.py test [pytest options]      # every check CI runs

Only the Python standard library is used here, so a fresh clone with Python 3.11+ is enough. The virtual
environment lives in ``.venv`` next to pyproject.toml and is (re)installed when pyproject.toml changes.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("ZSM_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"


def step(title: str) -> None:
    print(f"\n== {title}", flush=True)


def run(*cmd: str | Path, env: dict[str, str] | None = None) -> None:
    """Run a command in the repository; stop with its exit code when it fails."""
    result = subprocess.run([str(c) for c in cmd], cwd=ROOT, env=env)
    if result.returncode != 0:
        print(f"\nquickstart: failed ({result.returncode}): {' '.join(str(c) for c in cmd)}", flush=True)
        raise SystemExit(result.returncode)


def ensure_venv(extras: str) -> None:
    """Create .venv and install zsm (with ``extras``) unless it is already up to date."""
    if sys.version_info < (3, 11):  # noqa: UP036  (this script may be started by an older Python)
        raise SystemExit(f"zsm needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    marker = VENV / ".zsm-installed"
    if PY.exists() and marker.exists() and marker.read_text() in (digest, _dev_digest()):
        return
    step(f"creating the virtual environment in {VENV} (first run only)")
    if not PY.exists():
        venv.EnvBuilder(with_pip=True).create(VENV)
    run(PY, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    run(PY, "-m", "pip", "install", "--quiet", "-e", target)
    marker.write_text(digest)


def _dev_digest() -> str:
    # a venv installed with the dev extras also serves the demo
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + b"dev").hexdigest()


def call_and_wait(cmd: list[str]) -> int:
    """Run ``cmd``; Ctrl-C is passed on to it and waited for, so it can stop cleanly.

    (``subprocess.call`` kills the child on Ctrl-C, mid-tick: no standby command, no ``daemon_stopped``.)
    """
    child = subprocess.Popen(cmd, cwd=ROOT)
    while True:
        try:
            return child.wait()
        except KeyboardInterrupt:
            if child.poll() is None:
                child.send_signal(signal.SIGINT)


def demo(args: list[str]) -> int:
    ensure_venv("")
    return call_and_wait([str(BIN / "zsm"), "demo", *args])


def test(args: list[str]) -> int:
    ensure_venv("dev")
    step("ruff check")
    run(BIN / "ruff", "check", ".")
    step("ruff format --check")
    run(BIN / "ruff", "format", "--check", ".")
    step("mypy controller storage")
    run(BIN / "mypy", "controller", "storage")
    step("alembic check against a fresh database")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+pysqlite:///{Path(tmp) / 'alembic-check.db'}"
        ini = ROOT / "alembic" / "alembic.ini"
        run(BIN / "alembic", "-c", ini, "-x", f"url={url}", "upgrade", "head")
        run(BIN / "alembic", "-c", ini, "-x", f"url={url}", "check")
    step("pytest")
    return subprocess.call([str(PY), "-m", "pytest", *args], cwd=ROOT)


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in ("demo", "test"):
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    return demo(rest) if command == "demo" else test(rest)


if __name__ == "__main__":
    raise SystemExit(main())
