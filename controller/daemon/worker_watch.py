"""The control loop's watch on the server-I/O worker: one event when it turns unhealthy, one when it recovers.

Pure: fed what the worker says about itself (thread alive, :class:`WorkerHealth`) and the time, it answers
the events to log. A worker that is not alive is unhealthy whatever its last health said.
"""

from __future__ import annotations

import logging
from datetime import datetime

from controller.daemon.server_worker import WorkerHealth
from controller.domain.events import EventBase, WorkerRecovered, WorkerUnhealthy

__all__ = ["WorkerWatch"]

LOGGER = logging.getLogger(__name__)


class WorkerWatch:
    """Turns the worker's health, observed once per tick, into unhealthy/recovered events."""

    def __init__(self) -> None:
        self.problem: str | None = None
        self._since: datetime | None = None

    @property
    def healthy(self) -> bool:
        return self.problem is None

    def observe(self, *, alive: bool, health: WorkerHealth, now: datetime) -> list[EventBase]:
        """The events this observation adds (none while nothing changed)."""
        problem = None if alive and health.healthy else (health.problem or "server worker stopped")
        if not alive:
            problem = f"server worker thread ended ({health.problem or 'no problem recorded'})"
        if problem == self.problem:
            return []
        previous, self.problem = self.problem, problem
        if problem is None:
            unhealthy_s = (now - self._since).total_seconds() if self._since else None
            self._since = None
            LOGGER.warning("server worker recovered")
            return [WorkerRecovered(at=now, unhealthy_s=unhealthy_s)]
        if previous is None:
            self._since = now
            LOGGER.error("server worker unhealthy: %s", problem)
        return [WorkerUnhealthy(at=now, problem=problem[:400])]
