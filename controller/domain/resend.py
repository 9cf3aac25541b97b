"""When to send a command again that the battery accepted but no longer follows.

An external write (``outputLimit`` 0 from an app), an ``acMode`` revert or a reboot leaves the battery at
0 W for the rest of a slot while the controller believes its command is in force. :class:`ResendGuard`
watches the battery's reports after a write: once :data:`DISAGREEING_REPORTS` reports, each at least
:data:`SETTLE_S` after the write, disagree with the command, it answers the command to send again, at
most once per :data:`MIN_RESEND_INTERVAL_S` (the device's write budget). A report the battery may
legitimately answer with 0 W (charge cut-off, discharge cut-off, a limit of 0, a fault) never counts.

Pure: it sees commands, readings and times, and does no I/O.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from controller.domain.commands import Command, CommandKind
from controller.domain.events import BatteryReading

__all__ = ["DISAGREEING_REPORTS", "MIN_RESEND_INTERVAL_S", "SETTLE_S", "ResendGuard", "disagrees"]

DISAGREEING_REPORTS: Final = 3
SETTLE_S: Final = 10.0
MIN_RESEND_INTERVAL_S: Final = 20.0
TOLERANCE_W: Final = 60.0
TOLERANCE_SHARE: Final = 0.5  # at most half the asked power missing still counts as following
AC_MODE_INPUT: Final = 1  # Zendure: charging from AC
AC_MODE_OUTPUT: Final = 2  # Zendure: discharging to AC
SOC_LIMIT_CHARGE_CUTOFF: Final = 1
SOC_LIMIT_DISCHARGE_CUTOFF: Final = 2


def _may_not_follow(command: Command, reading: BatteryReading) -> bool:
    """Whether the battery has a reason of its own not to run ``command`` now."""
    if reading.fault:
        return True
    if command.kind is CommandKind.CHARGE:
        return (
            reading.soc_limit == SOC_LIMIT_CHARGE_CUTOFF
            or reading.max_charge_w == 0
            or reading.soc_pct >= 100
        )
    if command.kind is CommandKind.DISCHARGE:
        return (
            reading.soc_limit == SOC_LIMIT_DISCHARGE_CUTOFF
            or reading.max_discharge_w == 0
            or reading.soc_pct <= 0
        )
    return False


def disagrees(command: Command, reading: BatteryReading) -> bool:
    """Whether ``reading`` shows the battery not doing ``command`` (and with no reason of its own)."""
    if command.kind is CommandKind.STANDBY or _may_not_follow(command, reading):
        return False  # standby: the battery may idle in either acMode; nothing to re-send for
    wanted_mode = AC_MODE_INPUT if command.kind is CommandKind.CHARGE else AC_MODE_OUTPUT
    if reading.ac_mode is not None and reading.ac_mode != wanted_mode:
        return True
    wanted = command.battery_w
    missing = abs(wanted) - reading.battery_w * (1 if wanted > 0 else -1)
    return missing > max(TOLERANCE_W, TOLERANCE_SHARE * abs(wanted))


class ResendGuard:
    """Tracks the command in force and says when it must be sent again."""

    def __init__(self) -> None:
        self.command: Command | None = None
        self._written_at: datetime | None = None
        self._disagreeing = 0

    def written(self, command: Command, at: datetime) -> None:
        """The battery accepted ``command`` at ``at`` (a first send or a re-send)."""
        self.command = command
        self._written_at = at
        self._disagreeing = 0

    def forget(self) -> None:
        """No command is known to be in force (a write failed; that retry is someone else's)."""
        self.command = None
        self._written_at = None
        self._disagreeing = 0

    def observe(self, reading: BatteryReading) -> None:
        """Count one battery report against the command in force."""
        if self.command is None or self._written_at is None:
            return
        if (reading.at - self._written_at).total_seconds() < SETTLE_S:
            return
        self._disagreeing = self._disagreeing + 1 if disagrees(self.command, reading) else 0

    def due(self, now: datetime) -> Command | None:
        """The command to send again now, or ``None``."""
        if self.command is None or self._written_at is None or self._disagreeing < DISAGREEING_REPORTS:
            return None
        if (now - self._written_at).total_seconds() < MIN_RESEND_INTERVAL_S:
            return None
        return self.command
