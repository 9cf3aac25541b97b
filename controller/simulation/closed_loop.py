"""Closed-loop simulation in virtual time: plant → readings → controller → commands → plant.

Each simulated second ``k`` (time ``start + k s``):

1. the battery steps to ``k`` (commands issued before take effect after the dead time);
2. the true grid ``load − pv − battery`` is recorded into the meter;
3. every ``battery_read_interval_s`` a :class:`BatteryReading` (with the live limits and ``socLimit``),
   then the due meter telegrams as :class:`MeterReading` events (the daemon's order);
4. the controller handles them and ticks; the commands it issues go to the battery at ``k``;
5. the row of the time series is recorded.

Steps 3 and 4 are one :meth:`controller.domain.machine.ControllerCore.step`, the call the daemon and replay
make: the real core (states, schedule, safety) with the regulator inside. The run's log (``event_sink``)
holds the inputs and the core's outputs; it has no per-tick marker, because the simulator ticks every
second and replay knows that.
"""

from __future__ import annotations

import gc
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from controller.domain.baselines import (
    BudgetedLaggedOracle,
    LaggedOracleRegulator,
    NaiveRegulator,
    OracleRegulator,
)
from controller.domain.events import (
    CommandIssued,
    EventBase,
    LagEstimated,
    MeterReading,
    ScheduleLoaded,
)
from controller.domain.machine import ControllerCore
from controller.domain.regulation import PowerLimits, RegulationMode, Regulator
from controller.domain.regulator import ZsmRegulator
from controller.settings import LimitSettings, RegulationSettings
from controller.simulation.metrics import Metrics, OracleBattery, compute_metrics
from controller.simulation.plant import BatteryParams, BatteryPlant, Household, MeterParams, MeterPlant
from controller.simulation.plant_bank import GroupSimBattery, PlantBank, SimBatterySide, SingleSimBattery
from controller.simulation.timeseries import SimSeries

__all__ = [
    "CONTROLLERS",
    "ControllerName",
    "Scenario",
    "SimResult",
    "build_regulator",
    "scenario_for",
    "regulation_for",
    "run_closed_loop",
]

LOGGER = logging.getLogger(__name__)

ControllerName = Literal[
    "zsm", "naive", "oracle", "lagged-oracle", "lagged-oracle-plant", "lagged-oracle-budget"
]
CONTROLLERS: tuple[ControllerName, ...] = ("naive", "oracle", "lagged-oracle", "zsm")
#: A battery that follows a command at once and fully: the plant of the ``lagged-oracle`` reference.
_IDEAL_PLANT = {"dead_time_s": 0.0, "ramp_w_per_s": 1e9, "start_threshold_w": 0.0, "quantum_w": 0.0}
EventSink = Callable[[list[EventBase]], None]


@dataclass(frozen=True)
class Scenario:
    """Everything that defines one simulated run except the controller."""

    household: Household
    battery: BatteryParams = field(default_factory=BatteryParams)
    meter: MeterParams = field(default_factory=MeterParams)
    mode: RegulationMode = RegulationMode.NETZERO
    limits: LimitSettings = field(default_factory=LimitSettings)
    battery_read_interval_s: int = 5
    start: datetime = datetime(2026, 6, 1, tzinfo=UTC)
    duration_s: int | None = None
    target_offset_w: float = 0.0
    schedule: dict[str, Any] | None = None
    #: several batteries on the one meter (replaces ``battery``); each a member of a battery group
    batteries: tuple[BatteryParams, ...] = ()
    #: (member name, second) pairs: that battery drops off the LAN (and stops) at that second
    battery_offline_s: tuple[tuple[str, float], ...] = ()

    @property
    def plant_params(self) -> BatteryParams:
        """The battery, or the combined battery of a bank (summed capacity and limits)."""
        return PlantBank.combined_params(self.batteries) if self.batteries else self.battery

    def schedule_json(self) -> dict[str, Any]:
        """The schedule to load (default: the scenario's mode all day)."""
        if self.schedule is not None:
            return self.schedule
        return {"timezone": "UTC", "default": {"mode": self.mode.value}}

    @property
    def seconds(self) -> int:
        total = self.household.duration_s
        return min(total, self.duration_s) if self.duration_s is not None else total

    def limits_for(self, battery: BatteryPlant | PlantBank) -> PowerLimits:
        """Effective limits: config ∧ live device limits, 0 at the controller's SoC limits.

        For a bank the combined SoC stops it as the controller sees it, and within that each battery counts on
        its own (one at its SoC limit adds nothing), as the allocator does.
        """
        lim = self.limits
        if isinstance(battery, PlantBank):
            members = battery.members
            soc = battery.soc_pct
            can_discharge = (
                0.0
                if soc <= lim.min_soc_pct
                else sum(m.live_max_discharge_w for m in members if m.soc_pct > lim.min_soc_pct)
            )
            can_charge = (
                0.0
                if soc >= lim.max_soc_pct
                else sum(m.live_max_charge_w for m in members if m.soc_pct < lim.max_soc_pct)
            )
            return PowerLimits(
                max_discharge_w=int(min(lim.max_discharge_w, can_discharge)),
                max_charge_w=int(min(lim.max_charge_w, can_charge)),
            )
        soc = battery.soc_pct
        discharge = (
            0 if soc <= lim.min_soc_pct else int(min(lim.max_discharge_w, battery.live_max_discharge_w))
        )
        charge = 0 if soc >= lim.max_soc_pct else int(min(lim.max_charge_w, battery.live_max_charge_w))
        return PowerLimits(max_discharge_w=discharge, max_charge_w=charge)

    def oracle_battery(self) -> OracleBattery:
        b = self.plant_params
        return OracleBattery(
            capacity_wh=b.capacity_wh,
            initial_soc_pct=b.initial_soc_pct,
            min_soc_pct=max(b.min_soc_pct, self.limits.min_soc_pct),
            max_soc_pct=min(b.max_soc_pct, self.limits.max_soc_pct),
            max_discharge_w=min(b.max_discharge_w, self.limits.max_discharge_w),
            max_charge_w=min(b.max_charge_w, self.limits.max_charge_w),
        )


@dataclass(frozen=True)
class MemberSummary:
    """One battery of a bank at the end of a run."""

    name: str
    final_soc_pct: float
    relay_switches: int
    discharged_wh: float
    charged_wh: float


@dataclass
class SimResult:
    """The outcome of one run."""

    controller: str
    series: SimSeries
    metrics: Metrics
    wall_s: float
    cpu_s: float
    events_logged: int = 0
    members: tuple[MemberSummary, ...] = ()
    lag_estimates: list[tuple[float, float, float]] = field(default_factory=list)  # (t_s, lag_s, confidence)

    @property
    def sim_speed(self) -> float:
        """Simulated seconds per wall-clock second."""
        return len(self.series) / self.wall_s if self.wall_s > 0 else float("inf")


def regulation_for(
    scenario: Scenario,
    base: RegulationSettings | None = None,
    *,
    assume_lag: float | str | None = None,
    assume_dead_time_s: float | str | None = None,
    assume_ramp_w_per_s: float | None = None,
    assume_lag_min_s: float | None = None,
    assume_lag_max_s: float | None = None,
) -> RegulationSettings:
    """Regulator settings told the battery's characteristics and the lag (default: the plant's true values).

    ``assume_*`` tell the regulator something else: the lag (seconds or ``auto``), the battery's dead time
    (seconds, or ``auto``: keep the configured model), its ramp, and the lag band it must be stable in
    (default: ``base``'s band).
    """
    base = base or RegulationSettings()
    lag: float | str = scenario.meter.lag_s if assume_lag is None else assume_lag
    update: dict[str, object] = {
        "lag_s": lag if lag == "auto" else float(lag),
        "start_threshold_w": scenario.battery.start_threshold_w,
        "battery_ramp_w_per_s": scenario.battery.ramp_w_per_s
        if assume_ramp_w_per_s is None
        else assume_ramp_w_per_s,
    }
    if assume_dead_time_s is None:
        update["battery_dead_time_s"] = scenario.battery.dead_time_s
    elif assume_dead_time_s != "auto":
        update["battery_dead_time_s"] = float(assume_dead_time_s)
    if assume_lag_min_s is not None:
        update["lag_min_s"] = assume_lag_min_s
    if assume_lag_max_s is not None:
        update["lag_max_s"] = assume_lag_max_s
    return base.model_copy(update=update)


def scenario_for(name: ControllerName, scenario: Scenario) -> Scenario:
    """The scenario a controller is run in: ``lagged-oracle`` (the reference) gets an ideal battery.

    The reference is the information limit: the battery output equals the true net load ``lag`` seconds
    earlier, clipped to the battery's power limits, with no dead time, ramp or start threshold.
    ``lagged-oracle-plant`` is the same knowledge behind the scenario's real battery, and
    ``lagged-oracle-budget`` knows what the meter tells (the true net load at the moment its newest telegram
    describes: its lag, period, jitter and drift) behind the real battery, writing only as zsm may (its
    dead-band and write budget).
    """
    if name != "lagged-oracle":
        return scenario
    return replace(scenario, battery=replace(scenario.battery, **_IDEAL_PLANT))


def _telegram_age(scenario: Scenario) -> Callable[[datetime], float]:
    """How old, at ``now``, the moment is that the meter's newest telegram describes.

    A private meter with the scenario's parameters and seed draws the same telegram times, jitter and drops
    as the closed loop's; only the times are used, never its (empty) readings.
    """
    meter = MeterPlant(scenario.meter)
    meter.record(-1e9, 0.0)
    start = scenario.start
    described = [math.nan]

    def age(at: datetime) -> float:
        now_s = (at - start).total_seconds()
        for telegram in meter.poll(now_s):
            described[0] = telegram.describes_s
        if math.isnan(described[0]):
            return meter.lag_at(now_s)
        return max(0.0, now_s - described[0])

    return age


def build_regulator(
    name: ControllerName, scenario: Scenario, regulation: RegulationSettings | None = None
) -> Regulator:
    """A regulator by name; the oracles get the true net load from the scenario's household."""
    start = scenario.start
    house = scenario.household

    def truth(at: datetime) -> float:
        return house.net_at((at - start).total_seconds())

    threshold = scenario.battery.start_threshold_w
    if name == "zsm":
        return ZsmRegulator((regulation or RegulationSettings()).domain())
    if name == "naive":
        return NaiveRegulator()
    if name == "oracle":
        return OracleRegulator(
            truth, lookahead_s=scenario.battery.dead_time_s + 1.0, start_threshold_w=threshold
        )
    if name in ("lagged-oracle", "lagged-oracle-plant", "lagged-oracle-budget"):
        meter = MeterPlant(scenario.meter)
        ideal = name == "lagged-oracle"
        # the ideal plant acts one tick after a command: decide one tick ahead so output(t) = net(t - lag)
        ahead = 1.0 if ideal else 0.0

        def lag(at: datetime) -> float:
            return max(0.0, meter.lag_at((at - start).total_seconds()) - ahead)

        if name == "lagged-oracle-budget":
            care = (regulation or RegulationSettings()).domain()
            return BudgetedLaggedOracle(
                truth,
                lag_s=_telegram_age(scenario),
                start_threshold_w=threshold,
                deadband_w=care.deadband_w,
                min_write_interval_s=care.min_write_interval_s,
                write_burst=care.write_burst,
                min_write_gap_s=care.min_write_gap_s,
            )
        return LaggedOracleRegulator(truth, lag_s=lag, start_threshold_w=0.0 if ideal else threshold)
    raise ValueError(f"unknown controller {name!r}")


def run_closed_loop(
    scenario: Scenario,
    regulator: Regulator,
    *,
    controller: str = "custom",
    event_sink: EventSink | None = None,
    progress: Callable[[int], None] | None = None,
) -> SimResult:
    """Run ``regulator`` inside the real core against the scenario's plant and compute the metrics.

    ``event_sink`` receives every event of the run in order (inputs and outputs), in batches.
    """
    wall0 = time.perf_counter()
    cpu0 = time.process_time()
    series = SimSeries()
    lag_estimates: list[tuple[float, float, float]] = []
    # The loop makes millions of short-lived acyclic objects: the cyclic collector only costs time here.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        logged, members = _run(scenario, regulator, series, lag_estimates, event_sink, progress)
    finally:
        if gc_was_enabled:
            gc.enable()
    wall = time.perf_counter() - wall0
    cpu = time.process_time() - cpu0
    metrics = compute_metrics(series, oracle=scenario.oracle_battery())
    return SimResult(
        controller=controller,
        series=series,
        metrics=metrics,
        wall_s=wall,
        cpu_s=cpu,
        events_logged=logged,
        members=members,
        lag_estimates=lag_estimates,
    )


def _run(
    scenario: Scenario,
    regulator: Regulator,
    series: SimSeries,
    lag_estimates: list[tuple[float, float, float]],
    event_sink: EventSink | None,
    progress: Callable[[int], None] | None,
) -> tuple[int, tuple[MemberSummary, ...]]:
    house = scenario.household
    battery, side = _battery_side(scenario)
    meter = MeterPlant(scenario.meter)
    start = scenario.start
    core = ControllerCore(scenario.limits.domain(), regulator, target_offset_w=scenario.target_offset_w)
    read_every = max(1, int(scenario.battery_read_interval_s))
    setpoint = 0.0
    meter_w: float | None = None
    logged = 0
    log: list[EventBase] = []
    load_l, pv_l = house.load_w, house.pv_w
    inputs: list[EventBase] = [
        ScheduleLoaded(at=start, source="simulation", schedule=scenario.schedule_json())
    ]
    regulated = {"netzero", "netzero_plus"}
    for k in range(scenario.seconds):
        now = start + timedelta(seconds=k)
        b = side.step(k)
        load = load_l[k]
        pv = pv_l[k]
        grid = round(load - pv - b, 1)
        meter.record(k, grid)
        if k % read_every == 0:  # the battery first, as the daemon polls it
            inputs.extend(side.read(now))
        for telegram in meter.poll(k):
            at = start + timedelta(seconds=telegram.at_s)
            inputs.append(MeterReading(at=at, grid_w=telegram.grid_w, meter_time=at))
            meter_w = telegram.grid_w
        decided = core.step(now, inputs)
        if event_sink is not None:
            log.extend(inputs)
        inputs = []
        for event in decided:
            if isinstance(event, CommandIssued):
                setpoint = float(event.command.battery_w)
                inputs.extend(side.command(event.command, k, now))  # a group's split: the next step's input
                series.commands.append((float(k), setpoint))
            elif isinstance(event, LagEstimated):
                lag_estimates.append((float(k), event.lag_s, event.confidence))
            if event_sink is not None:
                log.append(event)
        if event_sink is not None and len(log) >= 2048:
            event_sink(log)
            logged += len(log)
            log = []
        slot_mode = core.slot.mode.value
        limits = core.effective_limits()
        own = scenario.limits_for(battery)
        series.t_s.append(float(k))
        series.load_w.append(load)
        series.pv_w.append(pv)
        series.battery_w.append(b)
        series.grid_w.append(grid)
        series.meter_w.append(meter_w)
        series.setpoint_w.append(setpoint)
        series.soc_pct.append(round(battery.soc_pct, 3))
        series.state.append(core.state.value)
        series.mode.append(slot_mode if slot_mode in regulated else "")
        series.max_discharge_w.append(float(min(limits.max_discharge_w, own.max_discharge_w)))
        series.max_charge_w.append(float(min(limits.max_charge_w, own.max_charge_w)))
        if progress is not None and k % 3600 == 3599:
            progress(3600)
    if event_sink is not None and log:
        event_sink(log)
        logged += len(log)
    return logged, _member_summaries(battery)


def _battery_side(scenario: Scenario) -> tuple[BatteryPlant | PlantBank, SimBatterySide]:
    """The plant and how the loop reads and commands it: directly, or through a battery group."""
    if not scenario.batteries:
        plant = BatteryPlant(scenario.battery)
        return plant, SingleSimBattery(plant)
    bank = PlantBank(scenario.batteries)
    group = GroupSimBattery(
        bank,
        scenario.start,
        min_soc_pct=scenario.limits.min_soc_pct,
        max_soc_pct=scenario.limits.max_soc_pct,
        stale_s=scenario.limits.battery_stale_s,
        offline=dict(scenario.battery_offline_s),
    )
    return bank, group


def _member_summaries(battery: BatteryPlant | PlantBank) -> tuple[MemberSummary, ...]:
    if not isinstance(battery, PlantBank):
        return ()
    return tuple(
        MemberSummary(name, round(plant.soc_pct, 2), switches, plant.discharged_wh, plant.charged_wh)
        for name, plant, switches in zip(battery.names, battery.members, battery.ac_switches, strict=True)
    )
