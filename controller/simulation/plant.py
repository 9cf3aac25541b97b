"""The plant: a household (load and PV), a battery and a P1 meter, all stepping on a virtual clock.

Time is a float ``t_s`` in seconds on the caller's clock (simulation: seconds since the run's start; a
device simulator may use ``Clock.monotonic()``). Nothing here reads the wall clock or does I/O except
:func:`load_trace`, which reads a CSV file.

Reuse API (also for the protocol-faithful device simulators that serve these objects over HTTP/TCP):

- :class:`Household` — ``load_at(t_s)``, ``pv_at(t_s)``, ``net_at(t_s)``, ``duration_s``; built by
  :func:`load_trace` (``t_s,watts`` or ``t_s,load_w,pv_w`` CSV, ``#`` comments, step hold) or by
  :func:`synthetic_household` (seeded). ``scaled(f)`` and ``window(start_s, duration_s)`` derive new ones.
- :class:`BatteryPlant` (params: :class:`BatteryParams`) — ``command(battery_w_or_Command, at=t_s)``
  records a signed set-point (+ discharge, − charge) that takes effect after the dead time;
  ``step(now)`` advances the battery to ``now`` and returns the AC output ``battery_w``; read
  ``soc_pct``, ``battery_w``, ``setpoint_w``, ``live_max_discharge_w``, ``live_max_charge_w``,
  ``soc_limit`` (0/1/2 like zenSDK ``socLimit``), ``ac_mode`` (1 input, 2 output), ``charged_wh``,
  ``discharged_wh``; ``set_live_limits(...)`` overrides the live limits (e.g. the cloud pushing
  ``inverseMaxPower`` to 0). ``snapshot()`` returns all of it as one :class:`BatterySnapshot`.
- :class:`MeterPlant` (params: :class:`MeterParams`) — feed it the true grid power with
  ``record(t_s, grid_w)`` after each plant step; ``poll(now)`` returns the :class:`Telegram` objects due
  since the last poll (dropped telegrams are left out), ``latest`` is the newest delivered one (what a
  HomeWizard ``/api/v1/data`` would return now). Each telegram carries the lagged, refreshed, noisy value,
  the meter's own timestamp and cumulative import/export energy counters.

A typical loop at 1 Hz::

    b = battery.step(t); grid = house.load_at(t) - house.pv_at(t) - b; meter.record(t, grid)
    for telegram in meter.poll(t): ...   # hand to the controller; then battery.command(w, at=t)

Sign convention: battery_w + = discharge into the home; grid_w + = import. The plant obeys
``grid_w = load_w - pv_w - battery_w`` exactly (all values are rounded to 0.1 W at the source).
"""

from __future__ import annotations

import csv
import logging
import math
import random
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from controller.domain.commands import Command

__all__ = [
    "BatteryParams",
    "BatteryPlant",
    "BatterySnapshot",
    "Household",
    "MeterParams",
    "MeterPlant",
    "Telegram",
    "TraceFormatError",
    "load_trace",
    "synthetic_household",
]

LOGGER = logging.getLogger(__name__)

LagMode = Literal["constant", "drift", "jitter"]


def _r1(value: float) -> float:
    """Round to 0.1 W (the plant's resolution, so that the grid law holds exactly in the CSV)."""
    return round(value, 1)


class TraceFormatError(ValueError):
    """A trace CSV could not be parsed (bad header, bad number, time going backwards)."""


# ----------------------------------------------------------------------------------------------------
# Household


@dataclass(frozen=True)
class Household:
    """Household load and PV generation at 1 s resolution, held between samples (step hold).

    ``t_s`` beyond the end holds the last value; before 0 holds the first.
    """

    load_w: tuple[float, ...]
    pv_w: tuple[float, ...]
    name: str = "household"

    def __post_init__(self) -> None:
        if not self.load_w:
            raise ValueError("a household needs at least one sample")
        if len(self.load_w) != len(self.pv_w):
            raise ValueError("load_w and pv_w must have the same length")

    @property
    def duration_s(self) -> int:
        return len(self.load_w)

    def _index(self, t_s: float) -> int:
        i = int(t_s) if t_s >= 0 else 0
        last = len(self.load_w) - 1
        return i if i <= last else last

    def load_at(self, t_s: float) -> float:
        return self.load_w[self._index(t_s)]

    def pv_at(self, t_s: float) -> float:
        return self.pv_w[self._index(t_s)]

    def net_at(self, t_s: float) -> float:
        """Load minus PV: the grid power with the battery idle (+ = import)."""
        i = self._index(t_s)
        return self.load_w[i] - self.pv_w[i]

    def scaled(self, factor: float) -> Household:
        """Both load and PV multiplied by ``factor``."""
        return Household(
            tuple(_r1(v * factor) for v in self.load_w),
            tuple(_r1(v * factor) for v in self.pv_w),
            name=f"{self.name}x{factor:g}",
        )

    def window(self, start_s: int, duration_s: int) -> Household:
        """A contiguous excerpt."""
        end = start_s + duration_s
        return Household(self.load_w[start_s:end], self.pv_w[start_s:end], name=self.name)


def _parse_float(text: str, path: Path, line_no: int) -> float:
    try:
        return float(text)
    except ValueError as err:
        raise TraceFormatError(f"{path}:{line_no}: not a number: {text!r}") from err


def load_trace(path: Path | str, *, scale: float = 1.0, name: str | None = None) -> Household:
    """Read a trace CSV (``t_s,watts`` or ``t_s,load_w,pv_w``; ``#`` comments) into a 1 s :class:`Household`.

    Any resolution is accepted: each value holds until the next row's ``t_s``; the last row holds for one
    median sample interval. ``scale`` multiplies both load and PV.
    """
    trace_path = Path(path)
    times: list[float] = []
    loads: list[float] = []
    pvs: list[float] = []
    header: list[str] | None = None
    with trace_path.open(newline="", encoding="utf-8") as handle:
        rows = (line for line in handle if line.strip() and not line.lstrip().startswith("#"))
        for line_no, row in enumerate(csv.reader(rows), start=1):
            cells = [c.strip() for c in row]
            if header is None:
                header = [c.lower() for c in cells]
                if header[:1] != ["t_s"] or len(header) not in (2, 3):
                    raise TraceFormatError(
                        f"{trace_path}: header must be 't_s,watts' or 't_s,load_w,pv_w', got {row}"
                    )
                continue
            if len(cells) != len(header):
                raise TraceFormatError(
                    f"{trace_path}: row {line_no} has {len(cells)} cells, need {len(header)}"
                )
            t_s = _parse_float(cells[0], trace_path, line_no)
            if times and t_s <= times[-1]:
                raise TraceFormatError(
                    f"{trace_path}: row {line_no}: t_s must increase ({t_s} after {times[-1]})"
                )
            times.append(t_s)
            loads.append(_parse_float(cells[1], trace_path, line_no))
            pvs.append(_parse_float(cells[2], trace_path, line_no) if len(cells) == 3 else 0.0)
    if not times:
        raise TraceFormatError(f"{trace_path}: no data rows")
    steps = sorted(b - a for a, b in zip(times, times[1:], strict=False)) or [1.0]
    tail = steps[len(steps) // 2]
    start = times[0]
    end = times[-1] + tail
    n = max(1, int(math.ceil(end - start)))
    load_w: list[float] = []
    pv_w: list[float] = []
    row_i = 0
    for second in range(n):
        t = start + second
        while row_i + 1 < len(times) and times[row_i + 1] <= t:
            row_i += 1
        load_w.append(_r1(loads[row_i] * scale))
        pv_w.append(_r1(pvs[row_i] * scale))
    label = name or (trace_path.stem if scale == 1.0 else f"{trace_path.stem}x{scale:g}")
    return Household(tuple(load_w), tuple(pv_w), name=label)


def synthetic_household(
    seed: int = 0,
    duration_s: int = 6 * 3600,
    *,
    start_hour: float = 6.0,
    base_w: float = 250.0,
    noise_w: float = 8.0,
    pv_peak_w: float = 800.0,
    appliance_rate_per_h: float = 6.0,
) -> Household:
    """A seeded synthetic household: slowly varying base load, appliance steps, noise, PV with cloud dips.

    PV follows a half-sine between 07:00 and 19:00 (local day time from ``start_hour``) with random cloud
    dips of 30 s to 10 min; appliances (fridge cycles, kettle, cooking, washing) switch on at random.
    """
    rng = random.Random(seed)
    load = [0.0] * duration_s
    # Base load wandering slowly (random walk, bounded), plus a fridge compressor duty cycle.
    level = base_w
    fridge_on = False
    fridge_left = rng.randint(60, 900)
    for t in range(duration_s):
        if t % 60 == 0:
            level = min(base_w * 1.6, max(base_w * 0.6, level + rng.gauss(0.0, base_w * 0.03)))
        fridge_left -= 1
        if fridge_left <= 0:
            fridge_on = not fridge_on
            fridge_left = rng.randint(600, 1500) if fridge_on else rng.randint(900, 2400)
        load[t] = level + (95.0 if fridge_on else 0.0)
    # Appliance events: (power, min duration, max duration).
    appliances = (
        (2000.0, 90, 240),
        (1200.0, 300, 1800),
        (450.0, 600, 3600),
        (150.0, 60, 600),
        (900.0, 20, 120),
    )
    events = rng.expovariate(appliance_rate_per_h / 3600.0) if appliance_rate_per_h > 0 else float("inf")
    t_event = events
    while t_event < duration_s:
        power, lo, hi = appliances[rng.randrange(len(appliances))]
        length = rng.randint(lo, hi)
        begin = int(t_event)
        for t in range(begin, min(duration_s, begin + length)):
            load[t] += power
        t_event += rng.expovariate(appliance_rate_per_h / 3600.0)
    # PV: half-sine over the day with cloud dips.
    pv = [0.0] * duration_s
    cloud = [1.0] * duration_s
    t_cloud = rng.expovariate(1 / 900.0)
    while t_cloud < duration_s:
        begin = int(t_cloud)
        length = rng.randint(30, 600)
        depth = rng.uniform(0.3, 0.8)
        for t in range(begin, min(duration_s, begin + length)):
            cloud[t] = min(cloud[t], 1.0 - depth)
        t_cloud += length + rng.expovariate(1 / 900.0)
    for t in range(duration_s):
        hour = (start_hour + t / 3600.0) % 24.0
        if 7.0 <= hour <= 19.0:
            pv[t] = pv_peak_w * math.sin(math.pi * (hour - 7.0) / 12.0) * cloud[t]
    load_w = tuple(_r1(max(0.0, v + rng.gauss(0.0, noise_w))) for v in load)
    pv_w = tuple(_r1(max(0.0, v)) for v in pv)
    return Household(load_w, pv_w, name=f"synthetic-{seed}")


# ----------------------------------------------------------------------------------------------------
# Battery


@dataclass(frozen=True)
class BatteryParams:
    """Battery model knobs (defaults: a Zendure SolarFlow 800 Pro)."""

    max_discharge_w: float = 800.0
    max_charge_w: float = 1000.0
    capacity_wh: float = 1920.0
    initial_soc_pct: float = 50.0
    min_soc_pct: float = 5.0
    max_soc_pct: float = 100.0
    charge_efficiency: float = 0.93
    discharge_efficiency: float = 0.92
    dead_time_s: float = 2.0
    ramp_w_per_s: float = 400.0
    start_threshold_w: float = 50.0
    quantum_w: float = 0.0
    charge_taper_from_pct: float = 100.0

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0:
            raise ValueError("capacity_wh must be > 0")
        if not 0 <= self.min_soc_pct < self.max_soc_pct <= 100:
            raise ValueError("need 0 <= min_soc_pct < max_soc_pct <= 100")
        if not 0 <= self.initial_soc_pct <= 100:
            raise ValueError("initial_soc_pct must be within 0..100")
        if self.ramp_w_per_s <= 0:
            raise ValueError("ramp_w_per_s must be > 0")
        if not (0 < self.charge_efficiency <= 1 and 0 < self.discharge_efficiency <= 1):
            raise ValueError("efficiencies must be within (0, 1]")
        if self.dead_time_s < 0 or self.start_threshold_w < 0 or self.quantum_w < 0:
            raise ValueError("dead_time_s, start_threshold_w and quantum_w must be >= 0")


@dataclass(frozen=True)
class BatterySnapshot:
    """Everything a battery status read returns, at one moment."""

    t_s: float
    battery_w: float
    setpoint_w: float
    soc_pct: float
    live_max_discharge_w: float
    live_max_charge_w: float
    soc_limit: int
    ac_mode: int
    charged_wh: float
    discharged_wh: float


class BatteryPlant:
    """A battery with limits, SoC, efficiency, cut-offs, dead time, ramp, start threshold and quantisation.

    Output laws (each step): the effective target is the newest set-point whose dead time has passed,
    clamped to the live limits, quantised, and 0 when its magnitude is below the start threshold; the output
    moves toward it by at most ``ramp_w_per_s`` × dt, snapping to the target/0 within one start threshold;
    at a SoC cut-off the output stops at once (discharge at ``min_soc_pct``, charge at ``max_soc_pct``).
    """

    def __init__(self, params: BatteryParams | None = None, *, start_s: float = 0.0) -> None:
        self.params = params or BatteryParams()
        p = self.params
        self._energy_wh = p.capacity_wh * p.initial_soc_pct / 100.0
        self._lo_wh = p.capacity_wh * p.min_soc_pct / 100.0
        self._hi_wh = p.capacity_wh * p.max_soc_pct / 100.0
        self._t = start_s
        self._output = 0.0
        self._setpoint = 0.0
        self._pending: list[tuple[float, float]] = []  # (effective time, set-point)
        self._effective_setpoint = 0.0
        self._override_discharge: float | None = None
        self._override_charge: float | None = None
        self._ac_mode = 2
        self.charged_wh = 0.0
        self.discharged_wh = 0.0

    # --- inputs ---------------------------------------------------------------------------------------------
    def command(self, setpoint: float | Command, *, at: float) -> None:
        """Record a signed set-point (+ discharge, − charge) issued at ``at``; it acts after the dead time."""
        watts = float(setpoint.battery_w) if isinstance(setpoint, Command) else float(setpoint)
        self._setpoint = watts
        if watts > 0:
            self._ac_mode = 2
        elif watts < 0:
            self._ac_mode = 1
        self._pending.append((at + self.params.dead_time_s, watts))

    def set_live_limits(
        self, *, max_discharge_w: float | None = None, max_charge_w: float | None = None
    ) -> None:
        """Cap the live limits (``None`` = back to the rated value); SoC cut-offs still apply on top."""
        self._override_discharge = max_discharge_w
        self._override_charge = max_charge_w

    # --- state ----------------------------------------------------------------------------------------------
    @property
    def t_s(self) -> float:
        return self._t

    @property
    def battery_w(self) -> float:
        return self._output

    @property
    def setpoint_w(self) -> float:
        """The last commanded set-point (whether or not it has taken effect yet)."""
        return self._setpoint

    @property
    def soc_pct(self) -> float:
        return 100.0 * self._energy_wh / self.params.capacity_wh

    @property
    def soc_limit(self) -> int:
        """0 normal, 1 charge cut-off reached, 2 discharge cut-off reached (zenSDK ``socLimit``)."""
        if self._energy_wh >= self._hi_wh - 1e-6:
            return 1
        if self._energy_wh <= self._lo_wh + 1e-6:
            return 2
        return 0

    @property
    def ac_mode(self) -> int:
        """1 = input (AC charge), 2 = output (discharge); standby keeps the last direction."""
        return self._ac_mode

    @property
    def live_max_discharge_w(self) -> float:
        p = self.params
        if self._energy_wh <= self._lo_wh + 1e-6:
            return 0.0
        rated = p.max_discharge_w
        return rated if self._override_discharge is None else min(rated, self._override_discharge)

    @property
    def live_max_charge_w(self) -> float:
        p = self.params
        soc = self.soc_pct
        if self._energy_wh >= self._hi_wh - 1e-6:
            return 0.0
        rated = p.max_charge_w
        if soc > p.charge_taper_from_pct:
            span = p.max_soc_pct - p.charge_taper_from_pct
            rated *= max(0.1, (p.max_soc_pct - soc) / span)
        return rated if self._override_charge is None else min(rated, self._override_charge)

    def snapshot(self) -> BatterySnapshot:
        return BatterySnapshot(
            t_s=self._t,
            battery_w=self._output,
            setpoint_w=self._setpoint,
            soc_pct=self.soc_pct,
            live_max_discharge_w=self.live_max_discharge_w,
            live_max_charge_w=self.live_max_charge_w,
            soc_limit=self.soc_limit,
            ac_mode=self._ac_mode,
            charged_wh=self.charged_wh,
            discharged_wh=self.discharged_wh,
        )

    # --- dynamics -------------------------------------------------------------------------------------------
    def _target(self) -> float:
        p = self.params
        w = self._effective_setpoint
        w = min(w, self.live_max_discharge_w) if w > 0 else max(w, -self.live_max_charge_w)
        if p.quantum_w > 0:
            w = round(w / p.quantum_w) * p.quantum_w
        if abs(w) < p.start_threshold_w:
            w = 0.0
        return w

    def _move(self, out: float, target: float, seconds: float) -> float:
        max_move = self.params.ramp_w_per_s * max(0.0, seconds)
        if target > out:
            return min(target, out + max_move)
        return max(target, out - max_move)

    def step(self, now: float) -> float:
        """Advance to ``now``: integrate energy over the elapsed interval, then set and return the output."""
        p = self.params
        dt = now - self._t
        if dt < 0:
            raise ValueError(f"battery time cannot go backwards ({now} < {self._t})")
        if dt > 0 and self._output != 0.0:
            out = self._output
            before = self._energy_wh
            if out > 0:
                drawn = out * dt / 3600.0 / p.discharge_efficiency
                self._energy_wh -= drawn
                self.discharged_wh += out * dt / 3600.0
            else:
                stored = -out * dt / 3600.0 * p.charge_efficiency
                self._energy_wh += stored
                self.charged_wh += -out * dt / 3600.0
            # The cut-off acts within the step: energy stops at the bound (never pushed back across it).
            if out > 0:
                self._energy_wh = max(self._energy_wh, min(self._lo_wh, before))
            else:
                self._energy_wh = min(self._energy_wh, max(self._hi_wh, before))
        cursor = self._t
        self._t = now
        out = self._output
        if (out > 0 and self.live_max_discharge_w == 0.0) or (out < 0 and self.live_max_charge_w == 0.0):
            out = 0.0  # SoC cut-off: stops at once
        # The output moves toward the target in force at each moment; a command changes the target when it
        # acts (after the dead time), it does not restart the motion.
        pending = self._pending
        while pending and pending[0][0] <= now + 1e-9:
            effective_at, setpoint = pending.pop(0)
            if effective_at > cursor:
                out = self._move(out, self._target(), effective_at - cursor)
                cursor = effective_at
            self._effective_setpoint = setpoint
        target = self._target()
        out = self._move(out, target, now - cursor)
        if out != target and out != 0.0 and abs(out) < p.start_threshold_w:
            # No output below the start threshold: a starting battery kicks in at the threshold, a stopping
            # one drops out below it.
            out = math.copysign(p.start_threshold_w, target) if target != 0.0 else 0.0
        self._output = _r1(out)
        return self._output


# ----------------------------------------------------------------------------------------------------
# Meter


@dataclass(frozen=True)
class MeterParams:
    """P1 meter model knobs. ``lag_mode``: constant, drift (sinusoid lag_min_s..lag_max_s), jitter."""

    period_s: float = 1.0
    lag_s: float = 20.0
    lag_mode: LagMode = "constant"
    lag_min_s: float | None = None
    lag_max_s: float | None = None
    drift_period_s: float = 7200.0
    jitter_s: float = 0.0
    refresh_s: float | None = None
    noise_w: float = 0.0
    spike_prob: float = 0.0
    spike_w: float = 1500.0
    drop_prob: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.period_s <= 0:
            raise ValueError("period_s must be > 0")
        if self.lag_s < 0 or self.jitter_s < 0 or self.noise_w < 0:
            raise ValueError("lag_s, jitter_s and noise_w must be >= 0")
        if not (0 <= self.spike_prob <= 1 and 0 <= self.drop_prob < 1):
            raise ValueError("spike_prob must be within 0..1 and drop_prob within 0..<1")


@dataclass(frozen=True)
class Telegram:
    """One meter telegram as delivered: ``at_s`` when sent (also the meter's own time stamp)."""

    at_s: float
    grid_w: float
    describes_s: float
    import_wh: float
    export_wh: float
    spike: bool = False


@dataclass
class _History:
    times: list[float] = field(default_factory=list)
    grid: list[float] = field(default_factory=list)
    import_wh: list[float] = field(default_factory=list)
    export_wh: list[float] = field(default_factory=list)


class MeterPlant:
    """A P1 meter: lagged, optionally refreshed every N s, noisy, spiky, dropping telegrams. Seeded."""

    def __init__(
        self, params: MeterParams | None = None, *, start_s: float = 0.0, keep_s: float = 600.0
    ) -> None:
        self.params = params or MeterParams()
        self._rng = random.Random(self.params.seed)
        self._hist = _History()
        self._next_index = int(math.ceil(start_s / self.params.period_s - 1e-9))
        self._keep_s = max(keep_s, 4 * (self.params.lag_max_s or self.params.lag_s) + 60.0)
        self._imp = 0.0
        self._exp = 0.0
        self._refresh_key: int | None = None
        self._refresh_noise = 0.0
        self.latest: Telegram | None = None
        self.sent = 0
        self.dropped = 0

    def record(self, t_s: float, grid_w: float) -> None:
        """The true grid power from ``t_s`` on (call after every plant step, in time order)."""
        h = self._hist
        if h.times:
            dt = t_s - h.times[-1]
            if dt < 0:
                raise ValueError("meter history must be recorded in time order")
            last = h.grid[-1]
            if last > 0:
                self._imp += last * dt / 3600.0
            else:
                self._exp += -last * dt / 3600.0
            if dt == 0:
                h.grid[-1] = grid_w
                return
        h.times.append(t_s)
        h.grid.append(grid_w)
        h.import_wh.append(self._imp)
        h.export_wh.append(self._exp)
        if len(h.times) > 4096 and t_s - h.times[0] > 2 * self._keep_s:
            cut = bisect_right(h.times, t_s - self._keep_s)
            for seq in (h.times, h.grid, h.import_wh, h.export_wh):
                del seq[:cut]

    def lag_at(self, t_s: float) -> float:
        """The configured lag at ``t_s`` (without jitter)."""
        p = self.params
        if p.lag_mode == "drift":
            lo = p.lag_min_s if p.lag_min_s is not None else p.lag_s
            hi = p.lag_max_s if p.lag_max_s is not None else p.lag_s
            return lo + (hi - lo) * 0.5 * (1.0 - math.cos(2.0 * math.pi * t_s / p.drift_period_s))
        return p.lag_s

    def _truth_index(self, t_s: float) -> int:
        i = bisect_right(self._hist.times, t_s + 1e-9) - 1
        return i if i >= 0 else 0

    def true_grid_at(self, t_s: float) -> float:
        """The recorded true grid power at ``t_s`` (step hold)."""
        if not self._hist.times:
            return 0.0
        return self._hist.grid[self._truth_index(t_s)]

    def _make(self, index: int) -> Telegram | None:
        p = self.params
        rng = self._rng
        at = index * p.period_s
        jitter = rng.uniform(-p.jitter_s, p.jitter_s) if p.lag_mode == "jitter" else 0.0
        spike_draw = rng.random()
        spike_sign = 1.0 if rng.random() < 0.5 else -1.0
        drop_draw = rng.random()
        refresh = p.refresh_s or p.period_s
        key = int(math.floor(at / refresh + 1e-9))
        sample_t = key * refresh
        if key != self._refresh_key:
            self._refresh_key = key
            self._refresh_noise = rng.gauss(0.0, p.noise_w) if p.noise_w > 0 else 0.0
        describes = sample_t - max(0.0, self.lag_at(sample_t) + jitter)
        h = self._hist
        if not h.times:
            return None
        i = self._truth_index(describes)
        value = h.grid[i] + self._refresh_noise
        spike = spike_draw < p.spike_prob
        if spike:
            value += spike_sign * p.spike_w
        self.sent += 1
        if drop_draw < p.drop_prob:
            self.dropped += 1
            return None
        return Telegram(
            at_s=at,
            grid_w=_r1(value),
            describes_s=describes,
            import_wh=h.import_wh[i],
            export_wh=h.export_wh[i],
            spike=spike,
        )

    def poll(self, now: float) -> list[Telegram]:
        """Telegrams due at or before ``now`` since the last poll, oldest first (dropped ones left out)."""
        out: list[Telegram] = []
        period = self.params.period_s
        while self._next_index * period <= now + 1e-9:
            telegram = self._make(self._next_index)
            self._next_index += 1
            if telegram is not None:
                out.append(telegram)
                self.latest = telegram
        return out


def as_tuple(values: Sequence[float]) -> tuple[float, ...]:
    """Helper for building a :class:`Household` from any sequence (rounded to 0.1 W)."""
    return tuple(_r1(float(v)) for v in values)
