"""Reference regulators to compare zsm against (each a :class:`~controller.domain.regulation.Regulator`).

- :class:`NaiveRegulator` — what the vendor app and most hobby projects do: every few seconds,
  set-point = meter reading + current (measured) battery output, with a 5 W dead-band. Lag-unaware.
- :class:`OracleRegulator` — knows the true net load every second (through an injected ``truth`` callable,
  supplied by a simulator); only the battery's limits, SoC and dynamics stop it.
- :class:`LaggedOracleRegulator` — knows the true net load exactly ``d`` seconds late: the best any
  controller can do on a ``d``-lagged meter without predicting the future.
- :class:`BudgetedLaggedOracle` — the same knowledge under zsm's device care (its dead-band and write
  budget): the best a meter-following controller can do with as few writes as zsm allows itself.

The first oracles write whenever the rounded set-point changes (no device care): they are bounds, not
products.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from controller.domain.events import BatteryReading, CommandIssued, CommandResult, EventBase, MeterReading
from controller.domain.regulation import (
    PowerLimits,
    RegulationMode,
    RegulatorDecision,
    fit_setpoint,
)

__all__ = [
    "BudgetedLaggedOracle",
    "LaggedOracleRegulator",
    "NaiveRegulator",
    "NetLoadTruth",
    "OracleRegulator",
]

NetLoadTruth = Callable[[datetime], float]
"""The true household net load (load − PV, + = import with the battery idle) at a moment."""


class _WriteTracker:
    """Remembers the last value written, to never write an unchanged value."""

    def __init__(self) -> None:
        self.last_written: float | None = None
        self.last_write_at: datetime | None = None

    def observe(self, event: EventBase) -> None:
        if isinstance(event, CommandIssued):
            self.last_written = float(event.command.battery_w)
            self.last_write_at = event.at
        elif isinstance(event, CommandResult) and not event.ok:
            self.last_written = None


class NaiveRegulator:
    """Set-point = meter + measured battery output, every ``interval_s`` (0: each reading); 5 W dead-band."""

    def __init__(self, *, interval_s: float = 4.0, deadband_w: float = 5.0) -> None:
        self.interval_s = interval_s
        self.deadband_w = deadband_w
        self._writes = _WriteTracker()
        self._meter_w: float | None = None
        self._meter_new = False
        self._battery_w = 0.0
        self._last_decision_at: datetime | None = None

    def observe(self, event: EventBase) -> None:
        self._writes.observe(event)
        if isinstance(event, MeterReading):
            self._meter_w = event.grid_w
            self._meter_new = True
        elif isinstance(event, BatteryReading):
            self._battery_w = event.battery_w

    def reset(self) -> None:
        self._meter_w = None
        self._last_decision_at = None

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        if self._meter_w is None:
            return None
        last_at = self._last_decision_at
        if self.interval_s > 0:
            due = last_at is None or (now - last_at).total_seconds() >= self.interval_s - 1e-6
        else:
            due = self._meter_new
        setpoint = float(
            round(fit_setpoint(self._meter_w + self._battery_w - target_offset_w, mode, limits, 0.0))
        )
        last = self._writes.last_written
        write = due and (last is None or abs(setpoint - last) >= self.deadband_w)
        if due:
            self._last_decision_at = now
            self._meter_new = False
        inputs = {"meter_w": self._meter_w, "battery_w": self._battery_w}
        return RegulatorDecision(battery_w=setpoint, write=write, inputs=dict(inputs))


class OracleRegulator:
    """Knows the true net load at ``now + lookahead_s`` (use the battery's dead time to cancel it exactly)."""

    def __init__(
        self, truth: NetLoadTruth, *, lookahead_s: float = 0.0, start_threshold_w: float = 0.0
    ) -> None:
        self.truth = truth
        self.lookahead = timedelta(seconds=lookahead_s)
        self.start_threshold_w = start_threshold_w
        self._writes = _WriteTracker()

    def observe(self, event: EventBase) -> None:
        self._writes.observe(event)

    def reset(self) -> None:
        return None

    def _net_at(self, now: datetime) -> float:
        return self.truth(now + self.lookahead)

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        net = self._net_at(now)
        wish = fit_setpoint(net - target_offset_w, mode, limits, self.start_threshold_w)
        setpoint = float(round(wish))
        write = setpoint != self._writes.last_written
        return RegulatorDecision(battery_w=setpoint, write=write, inputs={"true_net_w": round(net, 1)})


class LaggedOracleRegulator(OracleRegulator):
    """Knows the true net load exactly ``lag_s(now)`` seconds late (a constant or a callable of time)."""

    def __init__(
        self,
        truth: NetLoadTruth,
        *,
        lag_s: float | Callable[[datetime], float],
        start_threshold_w: float = 0.0,
    ) -> None:
        super().__init__(truth, start_threshold_w=start_threshold_w)
        self.lag_s = lag_s

    def _net_at(self, now: datetime) -> float:
        lag = self.lag_s(now) if callable(self.lag_s) else self.lag_s
        return self.truth(now - timedelta(seconds=lag))


class BudgetedLaggedOracle(LaggedOracleRegulator):
    """A lagged oracle that writes like zsm may: a change of ``deadband_w`` or a start/stop, from a token
    bucket of one write per ``min_write_interval_s`` (bursts of ``write_burst``), ``min_write_gap_s`` apart.
    """

    def __init__(
        self,
        truth: NetLoadTruth,
        *,
        lag_s: float | Callable[[datetime], float],
        start_threshold_w: float = 0.0,
        deadband_w: float,
        min_write_interval_s: float,
        write_burst: int,
        min_write_gap_s: float,
    ) -> None:
        super().__init__(truth, lag_s=lag_s, start_threshold_w=start_threshold_w)
        self.deadband_w = deadband_w
        self.min_write_interval_s = min_write_interval_s
        self.write_burst = write_burst
        self.min_write_gap_s = min_write_gap_s
        self._tokens = float(write_burst)
        self._tokens_at: datetime | None = None

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        decision = super().decide(now, mode, limits, target_offset_w)
        if decision is None:
            return None
        if self._tokens_at is not None and self.min_write_interval_s > 0:
            refill = (now - self._tokens_at).total_seconds() / self.min_write_interval_s
            self._tokens = min(float(self.write_burst), self._tokens + refill)
        self._tokens_at = now
        last, last_at = self._writes.last_written, self._writes.last_write_at
        setpoint = decision.battery_w
        worth_it = last is None or abs(setpoint - last) >= self.deadband_w or (setpoint == 0) != (last == 0)
        allowed = self._tokens >= 1.0 and (
            last_at is None or (now - last_at).total_seconds() >= self.min_write_gap_s
        )
        write = decision.write and worth_it and allowed
        if write:
            self._tokens -= 1.0
        return RegulatorDecision(battery_w=setpoint, write=write, inputs=decision.inputs)
