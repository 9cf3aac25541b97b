"""The regulator's safety net: notice its own limit cycle and hold each set-point until it is gone.

A limit cycle shows in the commands themselves. Consecutive set-point steps in one direction make a move
(a staircase up counts as one move up); a cycle is a run of moves of alternating direction, each large and
each undoing the one before (the set-point swings between two levels), within a few minutes. A loop
through the meter cannot turn faster than the smallest lag, so moves closer together than that are meter
noise, not a cycle. While a cycle is seen the regulator holds every set-point long enough for its effect
to be in the meter whatever the lag; once no cycle has been seen for ``quiet_s`` it returns to normal
(a cycle back soon after doubles that wait, up to an hour).
Both changes are logged (``regulation_fallback``). Pure: it learns only from the commands it is shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

__all__ = ["CycleChange", "LimitCycleGuard"]

_UNDO_TOLERANCE = 0.3  # a move "undoes" the previous one when they cancel to within this fraction
_MAX_QUIET_S = 3600.0  # a cycle that keeps coming back keeps the fallback on up to this long after it


@dataclass(frozen=True)
class CycleChange:
    """The guard switched on (``active``) or off, and why."""

    active: bool
    reason: str


@dataclass
class _Move:
    start_t: float
    total_w: float


class LimitCycleGuard:
    """Detects alternating set-point moves that undo each other; says when to hold and for how long."""

    def __init__(
        self,
        *,
        window_s: float,
        min_half_period_s: float,
        quiet_s: float = 300.0,
        min_step_w: float = 100.0,
        reversals: int = 4,
    ) -> None:
        self.window_s = window_s
        self.min_half_period_s = min_half_period_s
        self.base_quiet_s = self.quiet_s = quiet_s
        self._ended_t: float | None = None
        self.min_step_w = min_step_w
        self.reversals = reversals
        self._moves: deque[_Move] = deque(maxlen=reversals + 1)
        self._last_w: float | None = None
        self._last_cycle_t: float | None = None
        self.active = False
        self.period_s = 0.0
        self._change: CycleChange | None = None

    def command(self, t: float, battery_w: float) -> None:
        """A set-point was issued at ``t``."""
        last, self._last_w = self._last_w, battery_w
        if last is None or battery_w == last:
            return
        step = battery_w - last
        moves = self._moves
        if moves and (moves[-1].total_w > 0) == (step > 0):
            moves[-1].total_w += step
        else:
            moves.append(_Move(t, step))
        if self._is_cycle():
            self._cycle_seen(t)

    def _is_cycle(self) -> bool:
        moves = self._moves
        if len(moves) < self.reversals + 1 or moves[-1].start_t - moves[0].start_t > self.window_s:
            return False
        if any(abs(move.total_w) < self.min_step_w for move in moves):
            return False
        pairs = list(zip(moves, list(moves)[1:], strict=False))
        if any(b.start_t - a.start_t < self.min_half_period_s for a, b in pairs):
            return False
        return all(
            abs(a.total_w + b.total_w) <= _UNDO_TOLERANCE * max(abs(a.total_w), abs(b.total_w))
            for a, b in pairs
        )

    def _cycle_seen(self, t: float) -> None:
        moves = self._moves
        self._last_cycle_t = t
        self.period_s = 2.0 * (moves[-1].start_t - moves[0].start_t) / self.reversals
        if not self.active:
            self.active = True
            # back again soon after it ended: the cause persists (e.g. a band that misses the true lag)
            again = self._ended_t is not None and t - self._ended_t < 2.0 * self.quiet_s
            self.quiet_s = min(_MAX_QUIET_S, 2.0 * self.quiet_s) if again else self.base_quiet_s
            low = min(abs(move.total_w) for move in moves)
            self._change = CycleChange(
                True,
                f"limit cycle: {self.reversals} alternating moves of {low:.0f} W or more, period about "
                f"{self.period_s:.0f} s; holding each set-point",
            )

    def update(self, t: float) -> CycleChange | None:
        """At ``t``: the change since the last call, if any (end the fallback after a quiet period)."""
        if self.active and self._last_cycle_t is not None and t - self._last_cycle_t >= self.quiet_s:
            self.active = False
            self._ended_t = t
            self._moves.clear()
            self._change = CycleChange(False, f"no limit cycle for {self.quiet_s:.0f} s")
        change, self._change = self._change, None
        return change
