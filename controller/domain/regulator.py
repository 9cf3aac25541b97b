"""The zsm NetZero / NetZero+ regulator: delay-compensated, lag-learning and careful with the device.

The P1 value received at ``t`` describes the grid at ``t − d``. The regulator keeps a model of the battery's
AC output over time (from the commands it saw, with the device's dead time and ramp, corrected by measured
battery readings) and estimates the household net load at the meter's moment, Smith-predictor style::

    load(t − d) = meter(t) + battery(t − d)

It then proposes the battery power that cancels that load (NetZero: discharge only) or absorbs that surplus
(NetZero+: charge only), within the limits, and writes only when it is worth it:

- a change of at least ``deadband_w`` (or a start/stop) is written at once, if the write budget allows;
- smaller persistent errors are written once their energy (W·s) exceeds ``deadband_w × min_write_interval_s``;
- the budget is a token bucket: one write per ``min_write_interval_s`` on average, bursts of ``write_burst``,
  never two writes within ``min_write_gap_s``;
- a direction change (charge <-> discharge, the acMode relay) waits ``direction_dwell_s``;
- never an unchanged value.

The lag ``d`` is estimated online (:class:`LagEstimator`): a battery change shows up in the meter ``d``
seconds later as the opposite change, so the ``d`` at which ``meter(t) + battery(t − d)`` is smoothest wins.
Pure: no I/O, no wall clock; time comes only from the events and the ``now`` argument.
"""

from __future__ import annotations

import logging
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from controller.domain.dead_time import DeadTimeTracker
from controller.domain.events import (
    BatteryReading,
    CommandIssued,
    CommandResult,
    DeadTimeEstimated,
    EventBase,
    LagEstimated,
    MeterReading,
    RegulationFallback,
)
from controller.domain.limit_cycle import LimitCycleGuard
from controller.domain.params import RegulationParams
from controller.domain.regulation import (
    PowerLimits,
    RegulationMode,
    RegulatorDecision,
    Scalar,
    clamp_to_mode,
    fit_setpoint,
)

__all__ = ["BatteryResponseModel", "LagEstimate", "LagEstimator", "ZsmRegulator"]

LOGGER = logging.getLogger(__name__)

_MEASURE_TOLERANCE_W = 15.0
_HISTORY_MARGIN_S = 120.0
_SPIKE_WINDOW_S = 3.5
_ESTIMATE_EVERY_S = 10.0
_MIN_EVIDENCE_W = 1000.0  # battery movement (W, summed over agreeing estimates) a trusted lag rests on
_MIN_AGREEING = 6  # sure estimates in a row (one per _ESTIMATE_EVERY_S) before a lag is trusted
_TRUSTED_MARGIN_S = 4.0  # a trusted lag estimate narrows the band to ± this
_CYCLE_WINDOW_S = 300.0  # a limit cycle is looked for over at least this long (its band may be wrong)
_BAND_TOLERANCE_S = 2.0  # an estimate this far outside the configured band still counts (its resolution)
_DEAD_TIME_LATE_S = 4.0  # the battery may act this much later than its model says ...
_DEAD_TIME_EARLY_S = 2.0  # ... or this much earlier
_DEAD_TIME_WINDOW = 20  # a learned dead time rests on the newest this many observed writes ...
_DEAD_TIME_MIN_STEPS = 8  # ... at least this many of them ...
_DEAD_TIME_MIN_CONFIDENCE = 0.7  # ... mostly agreeing
_DEAD_TIME_MAX_S = 20.0  # a slower first move is a device that ignored or paced a write, not a dead time
_DEAD_TIME_CHANGE_S = 1.0  # the model's dead time is replaced only by one this different


class BatteryResponseModel:
    """The battery's AC output over time as a piecewise-linear curve, from commands and measurements.

    A command at ``t`` acts at ``t + dead_time_s`` and ramps at ``ramp_w_per_s``; a set-point below the start
    threshold gives 0. A measurement that disagrees with the curve pins it (e.g. a SoC cut-off or live limit);
    a command still in flight then continues from the measured value.
    """

    def __init__(self, dead_time_s: float, ramp_w_per_s: float, start_threshold_w: float) -> None:
        self.dead_time_s = dead_time_s
        self.ramp_w_per_s = ramp_w_per_s
        self.start_threshold_w = start_threshold_w
        self._t: list[float] = []
        self._w: list[float] = []
        self._last_cmd_t = -math.inf
        self._target = 0.0

    def at(self, t: float) -> float:
        """Modelled output at ``t`` (held before the first and after the last point)."""
        times = self._t
        if not times:
            return 0.0
        i = bisect_right(times, t) - 1
        if i < 0:
            return self._w[0]
        if i >= len(times) - 1:
            return self._w[-1]
        t0, t1 = times[i], times[i + 1]
        w0, w1 = self._w[i], self._w[i + 1]
        if t1 <= t0:
            return w1
        return w0 + (w1 - w0) * (t - t0) / (t1 - t0)

    def _cut_after(self, t: float) -> float:
        """Drop every point after ``t``, end the curve with the value at ``t``; return that value."""
        value = self.at(t)
        i = bisect_right(self._t, t)
        del self._t[i:]
        del self._w[i:]
        self._t.append(t)
        self._w.append(value)
        return value

    def _ramp_to(self, start: float, target: float) -> None:
        value = self._cut_after(start)
        if value != target:
            self._t.append(start + abs(target - value) / self.ramp_w_per_s)
            self._w.append(target)

    def command(self, t: float, battery_w: float) -> None:
        """A set-point was issued at ``t``."""
        target = 0.0 if abs(battery_w) < self.start_threshold_w else battery_w
        self._last_cmd_t = t
        self._target = target
        self._ramp_to(t + self.dead_time_s, target)

    def measured(self, t: float, battery_w: float) -> None:
        """A battery reading at ``t``: pin the curve where it disagrees."""
        if abs(self.at(t) - battery_w) <= _MEASURE_TOLERANCE_W:
            return
        self._cut_after(t)
        self._t.append(t)  # a step at t: the curve before t stays as modelled
        self._w.append(battery_w)
        effect_t = self._last_cmd_t + self.dead_time_s
        if effect_t > t:
            self._ramp_to(effect_t, self._target)

    def span(self, start: float, end: float) -> tuple[float, float]:
        """The smallest and the largest modelled output between ``start`` and ``end``."""
        low = high = self.at(start)
        value = self.at(end)
        low, high = min(low, value), max(high, value)
        times = self._t
        for i in range(bisect_right(times, start), bisect_right(times, end)):
            value = self._w[i]
            low, high = min(low, value), max(high, value)
        return low, high

    def prune(self, before: float) -> None:
        """Forget points no longer needed for looking back to ``before``."""
        i = bisect_right(self._t, before) - 1
        if i > 0:
            del self._t[:i]
            del self._w[:i]


@dataclass(frozen=True)
class LagEstimate:
    """The current lag estimate: seconds, confidence 0..1 and how much battery movement backs it (W)."""

    lag_s: float
    confidence: float
    evidence_w: float


class LagEstimator:
    """Online meter-lag estimate from how battery changes reappear in the meter.

    For each candidate lag ``d`` (whole seconds, 0..max) it accumulates ``|Δmeter(t) + Δbattery(t − d)| −
    |Δmeter(t)|``: at the true lag a battery step is cancelled by the meter's opposite step (cost −|Δb|),
    elsewhere it adds (+|Δb|). Costs decay with ``window_s``. Confidence = (median cost − best cost) /
    (2 Σ|Δb|). Battery values are sampled ``settle_s`` after the fact so that later measurements are in.
    """

    def __init__(
        self,
        *,
        max_lag_s: float = 40.0,
        window_s: float = 1800.0,
        settle_s: float = 6.0,
        min_edge_w: float = 10.0,
    ) -> None:
        self.max_lag = int(math.ceil(max_lag_s))
        self.window_s = window_s
        self.settle_s = settle_s
        self.min_edge_w = min_edge_w
        self._cost = [0.0] * (self.max_lag + 1)
        self._evidence = 0.0
        self._edges: deque[tuple[int, float]] = deque()
        self._meter: deque[tuple[int, float]] = deque()
        self._last_meter: tuple[int, float] | None = None
        self._b_k: int | None = None
        self._b_val = 0.0
        self._decay_k: int | None = None

    def add_meter(self, t: float, grid_w: float) -> None:
        """A new meter value first seen at ``t``."""
        k = int(round(t))
        if self._last_meter is not None:
            last_k, last_v = self._last_meter
            if k <= last_k:
                return
            self._meter.append((k, grid_w - last_v))
        self._last_meter = (k, grid_w)

    def advance(self, now: float, battery_at: Callable[[float], float]) -> None:
        """Take in battery history and meter deltas that are settled at ``now``."""
        final = int(math.floor(now - self.settle_s))
        if self._b_k is None:
            self._b_k = final
            self._b_val = battery_at(final)
            self._decay_k = final
            return
        edges = self._edges
        for k in range(self._b_k + 1, final + 1):
            value = battery_at(k)
            delta = value - self._b_val
            if abs(delta) >= self.min_edge_w:
                edges.append((k, delta))
                self._evidence += 2.0 * abs(delta)
                self._b_val = value
            elif delta == 0.0:
                continue
            else:
                # Drift below the edge size: follow it without counting it as an edge.
                self._b_val = value
        self._b_k = max(self._b_k, final)
        cost = self._cost
        meter = self._meter
        while meter and meter[0][0] <= final:
            t, dm = meter.popleft()
            base = abs(dm)
            for k, db in reversed(edges):
                d = t - k
                if d < 0:
                    continue
                if d > self.max_lag:
                    break
                cost[d] += abs(dm + db) - base
        while edges and edges[0][0] < final - self.max_lag - 1:
            edges.popleft()
        if self._decay_k is not None and final - self._decay_k >= 10:
            factor = math.exp(-(final - self._decay_k) / self.window_s)
            self._cost = [c * factor for c in cost]
            self._evidence *= factor
            self._decay_k = final

    def estimate(self) -> LagEstimate | None:
        """The best lag so far (sub-second by a parabola through the minimum), or None without evidence."""
        if self._evidence <= 0.0:
            return None
        cost = self._cost
        best = min(range(len(cost)), key=cost.__getitem__)
        ordered = sorted(cost)
        median = ordered[len(ordered) // 2]
        confidence = max(0.0, min(1.0, (median - cost[best]) / self._evidence))
        lag = float(best)
        if 0 < best < len(cost) - 1:
            left, mid, right = cost[best - 1], cost[best], cost[best + 1]
            curvature = left - 2 * mid + right
            if curvature > 0:
                lag += max(-0.5, min(0.5, 0.5 * (left - right) / curvature))
        return LagEstimate(lag_s=lag, confidence=confidence, evidence_w=self._evidence / 2.0)


class ZsmRegulator:
    """The zsm regulator (implements :class:`controller.domain.regulation.Regulator`)."""

    def __init__(self, settings: RegulationParams | None = None) -> None:
        self.settings = settings or RegulationParams()
        s = self.settings
        self.model = BatteryResponseModel(s.battery_dead_time_s, s.battery_ramp_w_per_s, s.start_threshold_w)
        self.estimator = LagEstimator(max_lag_s=s.lag_max_s, window_s=s.lag_window_s)
        self.dead_time = DeadTimeTracker(window=_DEAD_TIME_WINDOW, ramp_w_per_s=s.battery_ramp_w_per_s)
        self._dead_time_news: tuple[float, float, int] | None = None  # learned, not yet logged
        # the longest a step may take to show in the meter: the whole band, a late battery
        self._effect_s = self._effect_after(s.battery_dead_time_s)
        self.cycle_guard = LimitCycleGuard(
            window_s=max(4.0 * self._effect_s, _CYCLE_WINDOW_S),
            min_half_period_s=min(s.lag_min_s, s.lag_max_s),
        )
        self._epoch: datetime | None = None
        self._lag_logged: LagEstimate | None = None
        self._lag_logged_t = -math.inf
        self._lag_estimate: LagEstimate | None = None
        self._lag_trusted: float | None = None
        self._lag_candidate: float | None = None
        self._agree_w = 0.0
        self._agree_n = 0
        # Meter: newest value, when first seen (a meter that refreshes every N s repeats values).
        self._meter_w: float | None = None
        self._meter_t = -math.inf
        self._meter_first_t = -math.inf
        self._recent: deque[tuple[float, float, float]] = deque(maxlen=3)
        # Device care.
        self._last_written: float | None = None
        self._last_write_t = -math.inf
        self._direction = 0
        self._direction_t = -math.inf
        self._tokens = float(s.write_burst)
        self._tokens_t: float | None = None
        self._debt_ws = 0.0
        self._debt_t: float | None = None
        self._estimate_t = -math.inf
        self._observed = 0
        self._last_key: tuple[object, ...] | None = None
        self._repeat: RegulatorDecision | None = None

    def _effect_after(self, dead_time_s: float) -> float:
        s = self.settings
        return max(s.lag_max_s, s.lag_min_s) + max(dead_time_s, s.battery_dead_time_s) + _DEAD_TIME_LATE_S

    # --- time ------------------------------------------------------------------------------------------
    def _secs(self, at: datetime) -> float:
        if self._epoch is None:
            self._epoch = at
        return (at - self._epoch).total_seconds()

    # --- Regulator protocol ----------------------------------------------------------------------------
    def observe(self, event: EventBase) -> None:
        """Learn from meter and battery readings and from every command issued (by anyone)."""
        self._observed += 1
        if isinstance(event, MeterReading):
            t = self._secs(event.at)
            if event.grid_w != self._meter_w or t - self._meter_first_t > self.settings.lag_max_s:
                self._meter_first_t = t
                self.estimator.add_meter(t, event.grid_w)
            self._meter_w = event.grid_w
            self._meter_t = t
            self._recent.append((event.grid_w, self._meter_first_t, t))
        elif isinstance(event, BatteryReading):
            t = self._secs(event.at)
            self.model.measured(t, event.battery_w)
            if self.dead_time.reading(t, event.battery_w) and self.settings.learn_dead_time:
                self._learn_dead_time()
        elif isinstance(event, CommandIssued):
            self._on_command(self._secs(event.at), float(event.command.battery_w))
        elif isinstance(event, CommandResult) and not event.ok:
            self._last_written = None  # unknown device state: write again when allowed

    def _learn_dead_time(self) -> None:
        """Use the dead time the battery's readings show once enough observed writes agree on it.

        Until then (and while later observations disagree) the model keeps the configured or last learned
        one; a learned one never shortens how long a limit cycle is held (``_effect_after``).
        """
        est = self.dead_time.estimate()
        if est is None or est.steps < _DEAD_TIME_MIN_STEPS or est.confidence < _DEAD_TIME_MIN_CONFIDENCE:
            return
        learned = round(min(est.dead_time_s, _DEAD_TIME_MAX_S), 1)
        if abs(learned - self.model.dead_time_s) < _DEAD_TIME_CHANGE_S:
            return
        self.model.dead_time_s = learned
        self._effect_s = self._effect_after(learned)
        self._dead_time_news = (learned, round(est.confidence, 3), est.steps)

    def _on_command(self, t: float, battery_w: float) -> None:
        self.model.command(t, battery_w)
        self.dead_time.command(t, battery_w)
        self.cycle_guard.command(t, battery_w)
        self._refill(t)
        self._tokens = max(-float(self.settings.write_burst), self._tokens - 1.0)
        self._last_written = battery_w
        self._last_write_t = t
        self._debt_ws = 0.0
        direction = (battery_w > 0) - (battery_w < 0)
        if direction != 0 and direction != self._direction:
            self._direction = direction
            self._direction_t = t

    def reset(self) -> None:
        """Forget the control memory (the pending small-error debt, the cached decision).

        Kept: the battery model, the write budget, the learned lag and the newest meter reading (a fact
        about the world; the machine judges its freshness), so that entering a regulated state can act at
        once instead of commanding standby until the next telegram.
        """
        self._debt_ws = 0.0
        self._debt_t = None
        self._last_key = None

    def lag_in_use(self) -> tuple[float, str]:
        """The lag the regulator compensates now and where it comes from (estimate, config or prior).

        A confirmed estimate wins over the configured lag: a told lag is where regulation starts, not a
        promise about the meter (a wrong one costs accuracy, a confirmed estimate is what the log shows).
        """
        s = self.settings
        if self._lag_trusted is not None:
            return self._lag_trusted, "estimate"
        if s.lag_s != "auto":
            return float(s.lag_s), "config"
        return s.lag_initial_s, "prior"

    def lag_band(self, lag_source: str) -> tuple[float, float]:
        """The lags the meter may have: the configured band, narrowed around a trusted estimate."""
        s = self.settings
        low, high = s.lag_min_s, max(s.lag_min_s, s.lag_max_s)
        if s.lag_s != "auto":  # a configured lag is inside the band it must be stable for
            low, high = min(low, float(s.lag_s)), max(high, float(s.lag_s))
        if lag_source == "estimate" and self._lag_trusted is not None:
            low = max(low, self._lag_trusted - _TRUSTED_MARGIN_S)
            high = min(high, self._lag_trusted + _TRUSTED_MARGIN_S)
        return low, max(low, high)

    def _refill(self, t: float) -> None:
        s = self.settings
        if self._tokens_t is not None and t > self._tokens_t:
            rate = 1.0 / s.min_write_interval_s if s.min_write_interval_s > 0 else math.inf
            self._tokens = min(float(s.write_burst), self._tokens + (t - self._tokens_t) * rate)
        self._tokens_t = t if self._tokens_t is None else max(t, self._tokens_t)

    def _lag_events(self, now: datetime, t: float) -> tuple[EventBase, ...]:
        self.estimator.advance(t, self.model.at)
        if t - self._estimate_t < _ESTIMATE_EVERY_S:
            return ()
        self._estimate_t = t
        est = self.estimator.estimate()
        self._lag_estimate = est
        self._confirm(est)
        if est is None:
            return ()
        logged = self._lag_logged
        changed = (
            logged is None
            or abs(est.lag_s - logged.lag_s) >= 0.5
            or abs(est.confidence - logged.confidence) >= 0.1
        )
        if not changed or t - self._lag_logged_t < 60.0:
            return ()
        self._lag_logged = est
        self._lag_logged_t = t
        return (LagEstimated(at=now, lag_s=round(est.lag_s, 2), confidence=round(est.confidence, 3)),)

    def _confirm(self, est: LagEstimate | None) -> None:
        """Trust an estimate once sure ones agree (within 1 s) over enough battery movement.

        Until then the regulator keeps the whole lag band (the safe end); a trusted lag is kept while later
        estimates are less sure, and replaced only by another confirmed one.
        """
        s = self.settings
        if est is None or est.confidence < s.lag_min_confidence:
            return
        low, high = self.lag_band("config")
        if not low - _BAND_TOLERANCE_S <= est.lag_s <= high + _BAND_TOLERANCE_S:
            return  # outside the lags the meter may have: a feedback artefact, never trusted
        candidate = self._lag_candidate
        if candidate is None or abs(est.lag_s - candidate) > 1.0:
            self._agree_w = 0.0
            self._agree_n = 0
        self._lag_candidate = est.lag_s
        self._agree_w += est.evidence_w
        self._agree_n += 1
        if self._agree_w >= _MIN_EVIDENCE_W and self._agree_n >= _MIN_AGREEING:
            self._lag_trusted = est.lag_s

    def decide(
        self, now: datetime, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        """Propose a set-point at ``now`` (None until a first meter reading has been seen)."""
        t = self._secs(now)
        key = (t, self._observed, mode, limits, target_offset_w)
        if key == self._last_key:
            return self._repeat  # asked again with nothing new
        decision = self._decide(now, t, mode, limits, target_offset_w)
        self._last_key = key
        self._repeat = replace(decision, events=()) if decision is not None and decision.events else decision
        return decision

    def _decide(
        self, now: datetime, t: float, mode: RegulationMode, limits: PowerLimits, target_offset_w: float
    ) -> RegulatorDecision | None:
        s = self.settings
        events = self._lag_events(now, t)
        if self._dead_time_news is not None:  # logged with the next decision (the model uses it already)
            learned, confidence, steps = self._dead_time_news
            events += (DeadTimeEstimated(at=now, dead_time_s=learned, confidence=confidence, steps=steps),)
            self._dead_time_news = None
        change = self.cycle_guard.update(t) if s.limit_cycle_fallback else None
        if change is not None:
            events += (RegulationFallback(at=now, active=change.active, reason=change.reason),)
            if change.active:  # a trusted lag that is wrong is the one way into a cycle: back to the band
                self._lag_trusted = self._lag_candidate = None
                self._agree_w, self._agree_n = 0.0, 0
        self.model.prune(t - s.lag_max_s - _HISTORY_MARGIN_S)
        if self._meter_w is None:
            return None
        lag, lag_source = self.lag_in_use()
        seen_t = self._meter_first_t
        battery_then = self.model.at(seen_t - lag)
        load_w = self._meter_w + battery_then
        recent = self._recent
        if s.spike_filter and len(recent) == 3 and self._meter_t - recent[0][2] <= _SPIKE_WINDOW_S:
            # Median of the load estimates of the last three telegrams (when they came within a few seconds):
            # a one-telegram spike is over long before the battery could follow it, and following it would
            # only echo it one lag later; a real step costs one telegram of delay.
            a, b, c = (w + self.model.at(t_seen - lag) for w, t_seen, _ in recent)
            load_w = max(min(a, b), min(max(a, b), c))
        threshold = s.start_threshold_w
        wish = fit_setpoint(load_w - target_offset_w, mode, limits, threshold)
        band_lo, band_hi = self.lag_band(lag_source)
        b_lo, b_hi = self.model.span(
            seen_t - band_hi - _DEAD_TIME_LATE_S, seen_t - max(0.0, band_lo - _DEAD_TIME_EARLY_S)
        )
        consistent_lo = clamp_to_mode(self._meter_w + b_lo - target_offset_w, mode, limits)
        consistent_hi = clamp_to_mode(self._meter_w + b_hi - target_offset_w, mode, limits)
        last = self._last_written
        waiting = (
            last is not None
            and b_hi - b_lo > s.deadband_w
            and consistent_lo - s.deadband_w <= last <= consistent_hi + s.deadband_w
        )
        if waiting:
            # The battery moved within the lag band: the meter may or may not show it yet, and every load
            # between these bounds is consistent with what was seen. The last set-point is one of them, so
            # hold it until the effect is certain (acting now could only echo the battery's own step).
            assert last is not None
            wish = fit_setpoint(last, mode, limits, threshold)
        else:
            # Whatever the filters made of older telegrams, the newest one bounds the load.
            wish = fit_setpoint(min(max(wish, consistent_lo), consistent_hi), mode, limits, threshold)
        guard = self.cycle_guard
        hold_s = max(2.0 * self._effect_s, 0.75 * guard.period_s)
        holding = (
            s.limit_cycle_fallback and guard.active and last is not None and t - self._last_write_t < hold_s
        )
        if holding:
            # A limit cycle was seen, so the band may be wrong: wait (twice the band's reach, or longer than
            # the loop's true delay, about half the cycle's period) until this step's effect is in the meter.
            assert last is not None
            wish = fit_setpoint(last, mode, limits, threshold)
        direction = (wish > 0) - (wish < 0)
        dwell_hold = (
            direction != 0 and direction != self._direction and t - self._direction_t < s.direction_dwell_s
        )
        if dwell_hold and self._direction != 0:
            wish = 0.0
        setpoint = float(round(wish))
        write, reason = self._should_write(t, setpoint)
        if waiting:
            reason = "waiting for effect"
        if holding:
            reason = "limit cycle: holding"
        inputs: dict[str, Scalar] = {
            "meter_w": self._meter_w,
            "meter_age_s": round(t - self._meter_t, 1),
            "lag_s": round(lag, 2),
            "lag_source": lag_source,
            "battery_then_w": round(battery_then, 1),
            "load_estimate_w": round(load_w, 1),
            "target_offset_w": target_offset_w,
            "write_tokens": round(self._tokens, 2),
            "reason": reason,
        }
        return RegulatorDecision(battery_w=setpoint, write=write, inputs=inputs, events=events)

    def _should_write(self, t: float, setpoint: float) -> tuple[bool, str]:
        s = self.settings
        self._refill(t)
        last = self._last_written
        if self._debt_t is not None and last is not None and t > self._debt_t:
            self._debt_ws += abs(setpoint - last) * (t - self._debt_t)
        self._debt_t = t
        if last is None:
            return True, "first write"
        if setpoint == last:
            self._debt_ws = 0.0
            return False, "unchanged"
        if t - self._last_write_t < s.min_write_gap_s:
            return False, "write gap"
        if self._tokens < 1.0:
            return False, "write budget"
        if (setpoint == 0.0) != (last == 0.0):
            return True, "start" if last == 0.0 else "stop"
        if abs(setpoint - last) >= s.deadband_w:
            return True, "step"
        if (
            self._debt_ws >= s.deadband_w * max(s.min_write_interval_s, 1.0)
            and self._tokens >= s.write_burst / 2
        ):
            return True, "persistent error"  # small errors only spend spare budget: keep a reserve for steps
        return False, "dead-band"
