"""zsm storage: the SQLAlchemy schema, the append-only event log, migrations and the web server."""

from __future__ import annotations

__all__: list[str] = []
