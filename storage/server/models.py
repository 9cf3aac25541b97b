"""Tables of the web server (sites, tokens, users, schedule versions, ingested events, status)."""

from __future__ import annotations
