"""Meter lag from a log: a battery change shows up in the meter ``d`` seconds later, as the opposite change.

Two estimates from the same battery history (the regulator's :class:`BatteryResponseModel`, fed with the
logged commands and pinned by the logged battery readings):

- **estimator**: the regulator's own :class:`LagEstimator` run over the whole log (no forgetting), so the
  figure is the one the daemon converges to; its confidence is the estimator's (0..1); it counts only when
  at least :data:`MIN_EVIDENCE_W` of battery steps back it;
- **cross-correlation**: for each candidate ``d``, the share of the battery's steps that the meter echoes
  ``d`` s later, ``gain(d) = Σ −Δmeter(t)·Δbattery(t − d) / Σ Δbattery²`` (1 = every step fully echoed).
  Its confidence is how far the best ``d`` stands out: ``(gain(best) − gain(runner-up)) / gain(best)``,
  the runner-up taken at least 3 s from the best. It is the fallback when the estimator lacks evidence.

Meter values count from the moment they were first seen (a meter refreshing every N s repeats values).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from controller.domain.events import BatteryReading, CommandIssued, EventBase, MeterReading
from controller.domain.regulator import BatteryResponseModel, LagEstimator
from controller.settings import RegulationSettings

__all__ = ["LagReport", "estimate_lag", "estimate_lag_windows", "format_lag", "format_windows"]

#: Battery movement (sum of |steps|, W) an estimate must rest on (the regulator asks the same to trust one).
MIN_EVIDENCE_W = 1000.0
_MIN_XCORR_CONFIDENCE = 0.2
_MIN_XCORR_GAIN = 0.3
_MIN_EDGE_W = 10.0
_RUNNER_UP_GAP_S = 3


class LagReport(BaseModel):
    """The lag estimates, with their evidence."""

    model_config = ConfigDict(frozen=True)

    lag_s: float | None
    confidence: float
    method: str
    estimator_lag_s: float | None
    estimator_confidence: float
    evidence_w: float
    xcorr_lag_s: float | None
    xcorr_gain: float
    xcorr_confidence: float
    battery_steps: int
    meter_readings: int
    commands: int
    span_start: datetime | None
    span_end: datetime | None
    configured_lag: str


def estimate_lag(events: Iterable[EventBase], regulation: RegulationSettings | None = None) -> LagReport:
    """Estimate the meter lag from ``events`` (oldest first)."""
    s = regulation or RegulationSettings()
    model = BatteryResponseModel(s.battery_dead_time_s, s.battery_ramp_w_per_s, s.start_threshold_w)
    estimator = LagEstimator(max_lag_s=s.lag_max_s, window_s=1e12)
    epoch: datetime | None = None
    last_value: float | None = None
    first_t = -math.inf
    meter: list[tuple[float, float]] = []  # (first seen, value)
    readings = commands = 0
    start = end = None
    for event in events:
        if epoch is None:
            epoch = event.at
            start = event.at
        end = event.at
        t = (event.at - epoch).total_seconds()
        if isinstance(event, MeterReading):
            readings += 1
            if event.grid_w != last_value or t - first_t > s.lag_max_s:
                first_t = t
                estimator.add_meter(t, event.grid_w)
                meter.append((t, event.grid_w))
            last_value = event.grid_w
            estimator.advance(t, model.at)
        elif isinstance(event, BatteryReading):
            model.measured(t, event.battery_w)
        elif isinstance(event, CommandIssued):
            commands += 1
            model.command(t, float(event.command.battery_w))
    if meter:
        estimator.advance(meter[-1][0], model.at)
    est = estimator.estimate()
    x_lag, gain, x_conf, steps = _cross_correlate(meter, model, int(math.ceil(s.lag_max_s)))
    if est is not None and est.confidence > 0 and est.evidence_w >= MIN_EVIDENCE_W:
        lag, confidence, method = est.lag_s, est.confidence, "estimator"
    elif x_lag is not None and x_conf >= _MIN_XCORR_CONFIDENCE and gain >= _MIN_XCORR_GAIN:
        lag, confidence, method = x_lag, x_conf, "cross-correlation"
    else:
        lag, confidence, method = None, 0.0, "none"
    return LagReport(
        lag_s=round(lag, 2) if lag is not None else None,
        confidence=round(confidence, 3),
        method=method,
        estimator_lag_s=round(est.lag_s, 2) if est is not None else None,
        estimator_confidence=round(est.confidence, 3) if est is not None else 0.0,
        evidence_w=round(est.evidence_w, 1) if est is not None else 0.0,
        xcorr_lag_s=round(x_lag, 2) if x_lag is not None else None,
        xcorr_gain=round(gain, 3),
        xcorr_confidence=round(x_conf, 3),
        battery_steps=steps,
        meter_readings=readings,
        commands=commands,
        span_start=start,
        span_end=end,
        configured_lag=str(s.lag_s),
    )


def _cross_correlate(
    meter: list[tuple[float, float]], model: BatteryResponseModel, max_lag: int
) -> tuple[float | None, float, float, int]:
    """(lag, gain at the lag, confidence, battery steps) of battery steps against meter steps, 1 s grid."""
    if len(meter) < 2:
        return None, 0.0, 0.0, 0
    first = int(math.floor(meter[0][0]))
    last = int(math.ceil(meter[-1][0]))
    # Meter deltas per second (when first seen) and battery deltas per second (model, sampled each second).
    dm: dict[int, float] = {}
    for (_, v0), (t1, v1) in zip(meter, meter[1:], strict=False):
        k = int(round(t1))
        dm[k] = dm.get(k, 0.0) + (v1 - v0)
    edges: list[tuple[int, float]] = []
    prev = model.at(first)
    for k in range(first + 1, last + 1):
        value = model.at(k)
        delta = value - prev
        if abs(delta) >= _MIN_EDGE_W:
            edges.append((k, delta))
            prev = value
        elif delta != 0.0:
            prev = value
    covered = meter[-1][0] - max_lag
    edges = [(k, db) for k, db in edges if k <= covered]  # the meter must have had time to echo a step
    energy = sum(db * db for _, db in edges)
    if not edges or energy <= 0:
        return None, 0.0, 0.0, len(edges)
    score = [0.0] * (max_lag + 1)
    for k, db in edges:
        for d in range(max_lag + 1):
            m = dm.get(k + d)
            if m is not None:
                score[d] -= m * db
    gains = [value / energy for value in score]
    best = max(range(len(gains)), key=gains.__getitem__)
    if gains[best] <= 0:
        return None, 0.0, 0.0, len(edges)
    others = [g for d, g in enumerate(gains) if abs(d - best) >= _RUNNER_UP_GAP_S]
    runner_up = max(others) if others else 0.0
    confidence = max(0.0, min(1.0, (gains[best] - max(runner_up, 0.0)) / gains[best]))
    lag = float(best)
    if 0 < best < max_lag:
        left, mid, right = gains[best - 1], gains[best], gains[best + 1]
        curvature = left - 2 * mid + right
        if curvature < 0:
            lag += max(-0.5, min(0.5, 0.5 * (left - right) / curvature))
    return lag, gains[best], confidence, len(edges)


def format_lag(report: LagReport) -> str:
    """The lag report in plain words."""
    lines: list[str] = []
    if report.lag_s is None:
        lines.append("meter lag: unknown (the log shows too little battery movement to tell)")
    else:
        lines.append(
            f"meter lag: {report.lag_s:.1f} s (confidence {report.confidence:.2f}, by the {report.method})"
        )
    est = "-" if report.estimator_lag_s is None else f"{report.estimator_lag_s:.1f} s"
    lines.append(
        f"  regulator's estimator : {est}, confidence {report.estimator_confidence:.2f}, "
        f"backed by {report.evidence_w:.0f} W of battery steps"
    )
    xc = "-" if report.xcorr_lag_s is None else f"{report.xcorr_lag_s:.1f} s"
    lines.append(
        f"  cross-correlation     : {xc}, the meter echoes {report.xcorr_gain:.0%} of the battery steps "
        f"there, confidence {report.xcorr_confidence:.2f}"
    )
    lines.append(
        f"  from {report.meter_readings} meter readings, {report.commands} commands, "
        f"{report.battery_steps} battery steps ({report.span_start} .. {report.span_end}); "
        f"configured lag_s = {report.configured_lag}"
    )
    return "\n".join(lines)


def estimate_lag_windows(
    events: Iterable[EventBase], window: timedelta, regulation: RegulationSettings | None = None
) -> list[LagReport]:
    """One estimate per ``window`` of the log (to see the lag drift); each window starts afresh."""
    reports: list[LagReport] = []
    chunk: list[EventBase] = []
    end: datetime | None = None
    for event in events:
        if end is None:
            end = event.at + window
        while event.at >= end:
            if chunk:
                reports.append(estimate_lag(chunk, regulation))
                chunk = []
            end += window
        chunk.append(event)
    if chunk:
        reports.append(estimate_lag(chunk, regulation))
    return reports


def format_windows(reports: list[LagReport]) -> str:
    """One line per window: start, lag, confidence, evidence."""
    lines = ["window start (UTC)    lag s   confidence  battery steps"]
    for report in reports:
        lag = "-" if report.lag_s is None else f"{report.lag_s:5.1f}"
        start = f"{report.span_start:%Y-%m-%d %H:%M}" if report.span_start is not None else "-"
        lines.append(f"{start:<20}  {lag:>5}   {report.confidence:10.2f}  {report.battery_steps:13d}")
    return "\n".join(lines)
