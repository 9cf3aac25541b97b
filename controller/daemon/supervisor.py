"""``zsm supervise``: run ``zsm run`` as a child and start it again within seconds when it crashes.

A crashed daemon leaves the battery at its last set-point until something starts a new one; waiting for
the next cron minute costs up to 60 s. The supervisor restarts a daemon that died (a signal, or an exit
code other than the ones that mean "do not retry") after :data:`RESTART_DELAY_S`, doubling the delay for a
daemon that keeps crashing within :data:`STABLE_S` of its start (capped at :data:`MAX_RESTART_DELAY_S`).
SIGTERM and SIGINT are forwarded to the daemon, which stops cleanly (standby, ``daemon_stopped``); the
supervisor then exits with the daemon's code.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Final

from controller.clock import SystemClock

__all__ = ["FINAL_EXIT_CODES", "RestartPolicy", "Supervisor"]

_CLOCK = SystemClock()  # the supervisor and test brokers run on wall time

LOGGER = logging.getLogger(__name__)

RESTART_DELAY_S: Final = 0.5
MAX_RESTART_DELAY_S: Final = 30.0
STABLE_S: Final = 60.0
STOP_TIMEOUT_S: Final = 60.0
#: 0 stopped on request, 2 configuration error, 3 another daemon holds the lock: restarting cannot help
FINAL_EXIT_CODES: Final = frozenset({0, 2, 3})


@dataclass
class RestartPolicy:
    """How long to wait before the next start, given how long the last run lasted."""

    first_delay_s: float = RESTART_DELAY_S
    max_delay_s: float = MAX_RESTART_DELAY_S
    stable_s: float = STABLE_S
    _quick_crashes: int = 0

    def delay_after(self, ran_s: float) -> float:
        """Seconds to wait before restarting a daemon that crashed after running ``ran_s``."""
        self._quick_crashes = self._quick_crashes + 1 if ran_s < self.stable_s else 0
        doublings = max(0, self._quick_crashes - 1)
        return min(self.max_delay_s, self.first_delay_s * 2.0**doublings)


class Supervisor:
    """Keeps one daemon process running until asked to stop."""

    def __init__(self, command: Sequence[str], policy: RestartPolicy | None = None) -> None:
        self.command = list(command)
        self.policy = policy or RestartPolicy()
        self.restarts = 0
        self._stopping = threading.Event()
        self._child: subprocess.Popen[bytes] | None = None
        self._signal: int = signal.SIGTERM

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signal = signum
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    def install_signals(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def run(self) -> int:
        """Run (and re-run) the daemon; returns its last exit code."""
        while True:
            started = _CLOCK.monotonic()
            self._child = subprocess.Popen(self.command)
            LOGGER.info("supervise: daemon started (pid %d)", self._child.pid)
            if self._stopping.is_set():  # a signal came while starting it
                self._child.send_signal(self._signal)
            code = self._wait(self._child)
            ran_s = _CLOCK.monotonic() - started
            if self._stopping.is_set() or code in FINAL_EXIT_CODES:
                LOGGER.info("supervise: daemon exited with %d; not restarting", code)
                return code
            delay = self.policy.delay_after(ran_s)
            LOGGER.error(
                "supervise: daemon died (%s) after %.1f s; starting it again in %.1f s",
                f"signal {-code}" if code < 0 else f"exit code {code}", ran_s, delay,
            )  # fmt: skip
            if self._stopping.wait(delay):
                return code
            self.restarts += 1

    def _wait(self, child: subprocess.Popen[bytes]) -> int:
        while True:
            try:
                return child.wait(timeout=STOP_TIMEOUT_S if self._stopping.is_set() else None)
            except subprocess.TimeoutExpired:
                LOGGER.error("supervise: daemon did not stop within %.0f s; killing it", STOP_TIMEOUT_S)
                child.kill()
