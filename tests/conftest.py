"""Shared fixtures: repository paths, the shipped household traces, and a PostgreSQL schema per test."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PG_BASE_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CHROMIUM = Path("/usr/bin/chromium")
#: Flags for Debian's chromium in a closed sandbox (no background traffic, no sandboxing as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


TRACES_DIR = REPO_ROOT / "controller" / "simulation" / "traces"


def shared_trace(name: str) -> Path:
    """Path of a real household trace shipped with the repository (CC BY 4.0, see its README)."""
    path = TRACES_DIR / name
    assert path.is_file(), f"{path} missing: the traces are part of the repository"
    return path


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL schema (dropped afterwards); skips when PostgreSQL is unreachable."""
    if not _postgres_reachable():
        pytest.skip("PostgreSQL not reachable at 127.0.0.1:5432")
    import sqlalchemy as sa

    schema = f"zsm_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except sa.exc.OperationalError as err:
        admin.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 refused us: {err.orig}")
    try:
        yield f"{PG_BASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
