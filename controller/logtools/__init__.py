"""Offline tools over the event log: replay, tune, lag and audit (pure logic here, I/O at the edges)."""
