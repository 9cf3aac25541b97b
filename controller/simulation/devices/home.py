"""A simulated home for the device servers: the plant (household, battery, meter) on a :class:`Clock`.

A thin adapter over :mod:`controller.simulation.plant`: it steps the plant in 1 s increments up to the
clock's time (``t_s`` = seconds since ``origin``) and exposes the plant's battery and meter through the
ports the protocol servers use. All physics is the plant's.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from controller.clock import Clock
from controller.simulation.devices.ports import BatteryState, MeterSample
from controller.simulation.plant import BatteryPlant, Household, MeterPlant, Telegram
from controller.simulation.plant_bank import PlantBank

__all__ = ["PlantBatteryPort", "PlantMeterPort", "SimulatedHome"]


class SimulatedHome:
    """Household + battery + meter stepping together: ``grid_w = load_w − pv_w − battery_w`` every second."""

    def __init__(
        self,
        household: Household,
        battery: BatteryPlant | PlantBank,
        meter: MeterPlant,
        clock: Clock,
        *,
        origin: datetime | None = None,
        phase_split: tuple[float, ...] = (1.0,),
        history_s: float = 900.0,
    ) -> None:
        self.household = household
        self.battery = battery
        self.meter = meter
        self.clock = clock
        self.origin = origin or clock.now()
        self.phase_split = phase_split
        self._history_s = history_s
        self._lock = threading.RLock()
        self._t = battery.t_s
        self._telegrams: list[Telegram] = []
        self._hooks: list[Callable[[datetime], None]] = []
        self._step_to(self._t)

    def add_step_hook(self, hook: Callable[[datetime], None]) -> None:
        """Call ``hook(now)`` after every plant step (a device's firmware runs continuously)."""
        self._hooks.append(hook)

    def t_s(self, now: datetime) -> float:
        return (now - self.origin).total_seconds()

    def time_of(self, t_s: float) -> datetime:
        return self.origin + timedelta(seconds=t_s)

    def _step_to(self, t: float) -> None:
        b = self.battery.step(t)
        grid = self.household.load_at(t) - self.household.pv_at(t) - b
        self.meter.record(t, round(grid, 1))
        self._telegrams.extend(self.meter.poll(t))
        self._t = t

    def advance_to(self, now: datetime) -> None:
        """Step the plant to ``now`` (1 s steps; never backwards)."""
        target = self.t_s(now)
        with self._lock:
            while self._t + 1.0 <= target + 1e-9:
                self._step_to(math.floor(self._t + 1.0 + 1e-9))
                self._run_hooks()
            if target > self._t:
                self._step_to(target)
                self._run_hooks()
            keep_from = target - self._history_s
            if self._telegrams and self._telegrams[0].at_s < keep_from:
                self._telegrams = [t for t in self._telegrams if t.at_s >= keep_from]

    def _run_hooks(self) -> None:
        now = self.time_of(self._t)
        for hook in self._hooks:
            hook(now)

    def sample(self, telegram: Telegram) -> MeterSample:
        total = sum(self.phase_split) or 1.0
        phases = tuple(round(telegram.grid_w * share / total, 1) for share in self.phase_split)
        return MeterSample(
            at=self.time_of(telegram.at_s),
            phases_w=phases,
            import_kwh=telegram.import_wh / 1000.0,
            export_kwh=telegram.export_wh / 1000.0,
        )

    def telegrams_between(self, after_s: float | None, upto_s: float) -> list[Telegram]:
        with self._lock:
            return [t for t in self._telegrams if (after_s is None or t.at_s > after_s) and t.at_s <= upto_s]

    @property
    def battery_port(self) -> PlantBatteryPort:
        return PlantBatteryPort(self)

    def member_port(self, index: int) -> PlantBatteryPort:
        """The port of one battery of a :class:`PlantBank` (several batteries on this meter)."""
        if not isinstance(self.battery, PlantBank):
            raise TypeError("this home has a single battery")
        return PlantBatteryPort(self, self.battery.members[index])

    @property
    def meter_port(self) -> PlantMeterPort:
        return PlantMeterPort(self)


class PlantBatteryPort:
    """:class:`~controller.simulation.devices.ports.BatteryPort` over the plant's battery."""

    def __init__(self, home: SimulatedHome, plant: BatteryPlant | None = None) -> None:
        self.home = home
        if plant is None:
            if not isinstance(home.battery, BatteryPlant):
                raise TypeError("a home with several batteries has one port per battery (member_port)")
            plant = home.battery
        self.plant = plant
        self._last_target: float | None = None
        self._limits: tuple[float, float] | None = None

    def set_target(self, battery_w: float, now: datetime) -> None:
        with self.home._lock:  # noqa: SLF001
            self.home.advance_to(now)
            if battery_w != self._last_target:
                self._last_target = battery_w
                self.plant.command(battery_w, at=self.home.t_s(now))

    def set_limits(self, max_discharge_w: float, max_charge_w: float) -> None:
        limits = (max_discharge_w, max_charge_w)
        if limits != self._limits:
            self._limits = limits
            self.plant.set_live_limits(max_discharge_w=max_discharge_w, max_charge_w=max_charge_w)

    def add_step_hook(self, hook: Callable[[datetime], None]) -> None:
        self.home.add_step_hook(hook)

    def state(self, now: datetime) -> BatteryState:
        with self.home._lock:  # noqa: SLF001
            self.home.advance_to(now)
            battery = self.plant
            out = battery.battery_w
            params = battery.params
            pack = out / params.discharge_efficiency if out > 0 else out * params.charge_efficiency
            return BatteryState(soc_pct=battery.soc_pct, ac_w=out, pack_w=round(pack, 1))


class PlantMeterPort:
    """:class:`~controller.simulation.devices.ports.MeterPort` over the plant's meter."""

    def __init__(self, home: SimulatedHome) -> None:
        self.home = home

    def reading_at(self, now: datetime) -> MeterSample | None:
        self.home.advance_to(now)
        latest = self.home.meter.latest
        return None if latest is None else self.home.sample(latest)

    def samples_since(self, now: datetime, after: datetime | None) -> list[MeterSample]:
        self.home.advance_to(now)
        after_s = None if after is None else self.home.t_s(after)
        return [self.home.sample(t) for t in self.home.telegrams_between(after_s, self.home.t_s(now))]
