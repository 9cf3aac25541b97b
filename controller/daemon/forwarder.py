"""Call 4: forward the event log to the server, at least once, resumable from a cursor kept in the log.

Each batch names the log it comes from (its identity, stored in the log). The server stores events
idempotently by (site, log, seq) and answers with the highest seq up to which it holds everything, so
resending after a crash or an outage is harmless. An event the server rejects (with a reason) counts
as handled: it is logged here and the stream moves on. The cursor is written to the log
as a :class:`ForwarderCursorAdvanced` event now and then (not after every batch, and never just to
acknowledge its own previous cursor event), and read back on start.
"""

from __future__ import annotations

import logging
from datetime import datetime

from controller.daemon.server_client import ServerClient
from controller.domain.events import ForwarderCursorAdvanced
from storage.event_log import EventLog

__all__ = ["Forwarder", "restore_cursor"]

LOGGER = logging.getLogger(__name__)


def restore_cursor(log: EventLog) -> int:
    """The last cursor recorded in the log (0 when none).

    The newest record, not the highest: after the server lost events the cursor went back, and the
    events after it must be sent again.
    """
    stored = log.last_of_kind("forwarder_cursor_advanced")
    return stored.event.seq if stored is not None and isinstance(stored.event, ForwarderCursorAdvanced) else 0


class Forwarder:
    """Ships log rows after ``cursor`` in batches and advances the cursor on the server's word."""

    def __init__(
        self, log: EventLog, client: ServerClient, *, batch: int = 500, record_every_s: float = 60.0
    ) -> None:
        self.log = log
        self.client = client
        self.batch = batch
        self.record_every_s = record_every_s
        self.identity = log.identity()
        self.cursor = restore_cursor(log)
        self.rejected = 0
        self._recorded_cursor = self.cursor
        self._recorded_at: datetime | None = None

    def forward_once(self) -> int:
        """Send one batch after the cursor; returns how many rows were sent (0 = up to date).

        Raises :class:`~controller.daemon.server_client.ServerError` when the server cannot take it.
        """
        self.log.sync()  # ship only what a power cut cannot take back (see storage.event_log)
        rows = self.log.read_raw_after(self.cursor, self.batch)
        if not rows:
            return 0
        reply = self.client.post_events(rows, self.identity)
        for rejection in reply.rejected:
            LOGGER.warning("server rejected event seq %d: %s (skipped)", rejection.seq, rejection.reason)
        self.rejected += len(reply.rejected)
        acknowledged = reply.highest_contiguous_seq
        if acknowledged > self.cursor:
            self.cursor = acknowledged
        elif acknowledged < rows[-1].seq:
            LOGGER.warning("server holds events only up to seq %d; resending from there", acknowledged)
            self.cursor = acknowledged
        return len(rows)

    def record_cursor(self, now: datetime, *, force: bool = False) -> ForwarderCursorAdvanced | None:
        """Append the cursor to the log when it moved past more than its own last record."""
        moved = self.cursor > self._recorded_cursor + 1
        due = (
            force
            or self._recorded_at is None
            or (now - self._recorded_at).total_seconds() >= self.record_every_s
        )
        if not (moved and due):
            return None
        event = ForwarderCursorAdvanced(at=now, seq=self.cursor)
        self.log.append(event)
        self._recorded_cursor = self.cursor
        self._recorded_at = now
        return event
