"""Short-horizon load prediction, measured offline: does anything beat "the load stays as last seen"?

The regulator knows the net load ``lag`` s late and its battery acts ``dead time`` s after a write, so it
acts on the load ``h = lag + dead time`` s before the moment it matters. Following the last known value
(persistence) is what it does; the predictors here guess ``x(t + h)`` from ``x(..t)`` in other ways. Each
is scored on a 1 Hz net-load series by the mean absolute error of its guess and by the residual of an
ideal battery that follows the guess (clipped to the direction and power of NetZero or NetZero+): the
lagged oracle's residual when the predictor is persistence. Pure numpy; causal (a guess at ``t`` reads
only samples up to ``t``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = ["PREDICTORS", "PredictionScore", "predict", "score"]

Series = NDArray[np.float64]
CYCLE_WINDOW_S = 600  # a cycle is looked for in the last 10 minutes ...
CYCLE_MAX_S = 300  # ... with a period up to 5 minutes ...
CYCLE_MIN_CORRELATION = 0.8  # ... and used only when the window repeats itself this well
CYCLE_EVERY_S = 10  # the period is looked for again every this many seconds


def _persistence(x: Series, h: int) -> Series:
    return x.copy()


def _median3(x: Series, h: int) -> Series:
    out = x.copy()
    out[2:] = np.median(np.stack([x[:-2], x[1:-1], x[2:]]), axis=0)
    return out


def _trailing_mean(x: Series, window: int) -> Series:
    sums = np.concatenate(([0.0], np.cumsum(x)))
    idx = np.arange(len(x))
    start = np.maximum(0, idx + 1 - window)
    return (sums[idx + 1] - sums[start]) / (idx + 1 - start)


def _reversion(window: int, weight: float) -> Callable[[Series, int], Series]:
    def predictor(x: Series, h: int) -> Series:
        return weight * x + (1.0 - weight) * _trailing_mean(x, window)

    return predictor


def _damped_trend(span: int, damping: float) -> Callable[[Series, int], Series]:
    def predictor(x: Series, h: int) -> Series:
        out = x.copy()
        out[span:] = x[span:] + damping * (x[span:] - x[:-span]) * h / span
        return out

    return predictor


def _cycle(x: Series, h: int) -> Series:
    """Repeat the last period of a cycling load (a fridge, an oven's thermostat) where one is clear."""
    out = x.copy()
    period = 0
    for t in range(CYCLE_WINDOW_S, len(x)):
        if t % CYCLE_EVERY_S == 0:
            window = x[t - CYCLE_WINDOW_S : t + 1] - x[t - CYCLE_WINDOW_S : t + 1].mean()
            period = 0
            if window.std() >= 20.0:
                best = CYCLE_MIN_CORRELATION
                for p in range(h + 5, CYCLE_MAX_S + 1):
                    a, b = window[p:], window[:-p]
                    r = float(a @ b) / float(np.sqrt((a @ a) * (b @ b)) + 1e-9)
                    if r > best:
                        best, period = r, p
        if period:
            out[t] = x[t + h - period]
    return out


#: name -> predictor(series, horizon) giving, at each t, the guess of series[t + horizon].
PREDICTORS: dict[str, Callable[[Series, int], Series]] = {
    "persistence": _persistence,
    "median of 3": _median3,
    "revert to 60 s mean (0.8)": _reversion(60, 0.8),
    "revert to 300 s mean (0.9)": _reversion(300, 0.9),
    "damped trend 30 s (0.3)": _damped_trend(30, 0.3),
    "cycle repeat": _cycle,
}


def predict(name: str, x: ArrayLike, horizon_s: int) -> Series:
    """The named predictor's guesses: element ``t`` guesses ``x[t + horizon_s]``."""
    return PREDICTORS[name](np.asarray(x, dtype=np.float64), horizon_s)


@dataclass(frozen=True)
class PredictionScore:
    """How one predictor did on one series at one horizon."""

    predictor: str
    horizon_s: int
    mae_w: float
    residual_wh: float


def score(name: str, x: ArrayLike, horizon_s: int, low_w: float, high_w: float) -> PredictionScore:
    """Score a predictor: MAE of its guesses, and the residual of an ideal battery following them.

    The battery output at ``t + h`` is the guess made at ``t`` clipped to ``low_w..high_w`` (NetZero:
    ``0..max discharge``; NetZero+: ``-max charge..0``); the residual is the avoidable part,
    ``|net − output|`` where the net load was inside those bounds, and only the excess where it was not.
    """
    series = np.asarray(x, dtype=np.float64)
    guess = predict(name, series, horizon_s)[:-horizon_s]
    actual = series[horizon_s:]
    output = np.clip(guess, low_w, high_w)
    reachable = np.clip(actual, low_w, high_w)
    residual_wh = float(np.abs(reachable - output).sum()) / 3600.0
    return PredictionScore(
        predictor=name,
        horizon_s=horizon_s,
        mae_w=round(float(np.abs(guess - actual).mean()), 1),
        residual_wh=round(residual_wh, 1),
    )
