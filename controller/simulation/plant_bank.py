"""Several simulated batteries on one meter, and the battery side of a simulated run.

:class:`PlantBank` adds the outputs of N :class:`BatteryPlant` s (the meter sees their sum). The closed
loop talks to the battery side through :class:`SimBatterySide`: a single plant is read and commanded
directly; a bank is read and commanded through the daemon's own :class:`BatteryGroup` (the allocator and
its events), each member behind a :class:`PlantMemberPort` — the same code the daemon runs with several
real batteries.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from controller.devices.battery_group import BatteryGroup, GroupMember
from controller.domain.allocation import AllocationPolicy
from controller.domain.commands import Command
from controller.domain.events import BatteryReading, EventBase
from controller.simulation.plant import BatteryParams, BatteryPlant

__all__ = [
    "GroupSimBattery",
    "PlantBank",
    "PlantMemberPort",
    "SimBatterySide",
    "SingleSimBattery",
    "battery_file",
    "parse_battery_list",
    "plant_reading",
]

#: rated (max discharge W, max charge W, capacity Wh) of the models ``--batteries`` knows
BATTERY_MODELS: dict[str, tuple[float, float, float]] = {
    "800": (800.0, 1000.0, 1920.0),  # SolarFlow 800 Pro with its built-in pack
    "800pro": (800.0, 1000.0, 1920.0),
    "2400": (2400.0, 2400.0, 2880.0),  # SolarFlow 2400 AC with one AB3000 pack
    "hyper2000": (1200.0, 1200.0, 1920.0),
    "hub1200": (1200.0, 1200.0, 1920.0),
}


def parse_battery_list(spec: str, base: BatteryParams, *, socs: Sequence[float] = ()) -> list[BatteryParams]:
    """``"2x800,2400"`` → battery parameters (``socs`` sets the initial SoC of each in order).

    Each item is ``[Nx]MODEL[@CAPACITY_WH]`` with a model of :data:`BATTERY_MODELS` (``2x800@15000``: two
    SolarFlow 800 Pro with 15 kWh each); other knobs (dead time, ramp,
    efficiencies, SoC limits) come from ``base``.
    """
    if len(spec) > 200:
        raise ValueError("battery list too long (200 characters at most)")
    out: list[BatteryParams] = []
    for raw in spec.split(","):
        item = raw.strip().lower()
        if not item:
            raise ValueError(f"empty item in battery list {spec!r}")
        count = 1
        item, at_sign, capacity_text = item.partition("@")
        if "x" in item and item.split("x", 1)[0].isdigit():
            head, item = item.split("x", 1)
            count = int(head)
        if item not in BATTERY_MODELS:
            raise ValueError(f"unknown battery model {item!r} (known: {', '.join(BATTERY_MODELS)})")
        if not 1 <= count <= 8:
            raise ValueError(f"battery count {count} out of range 1..8")
        discharge, charge, capacity = BATTERY_MODELS[item]
        if at_sign:
            try:
                capacity = float(capacity_text)
            except ValueError:
                raise ValueError(f"bad capacity {capacity_text!r} in {raw.strip()!r} (Wh expected)") from None
        for _ in range(count):
            out.append(replace(base, max_discharge_w=discharge, max_charge_w=charge, capacity_wh=capacity))
    if len(out) > 8:
        raise ValueError(f"{len(out)} batteries: at most 8 on one meter")
    return _with_socs(out, socs)


def battery_file(path: Path, base: BatteryParams, *, socs: Sequence[float] = ()) -> list[BatteryParams]:
    """A JSON list of batteries: each ``{"model": "800"}`` and/or :class:`BatteryParams` fields."""
    if path.stat().st_size > 64 * 1024:
        raise ValueError(f"{path}: battery file larger than 64 KiB")
    items = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(items, list) or not 1 <= len(items) <= 8:
        raise ValueError(f"{path}: expected a JSON list of 1 to 8 batteries")
    known = {f.name for f in fields(BatteryParams)}
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: battery {i + 1} is not an object")
        item = dict(item)
        params = parse_battery_list(str(item.pop("model")), base)[0] if "model" in item else base
        unknown = set(item) - known
        if unknown:
            raise ValueError(f"{path}: battery {i + 1}: unknown fields {sorted(unknown)}")
        out.append(replace(params, **{k: float(v) for k, v in item.items()}))
    return _with_socs(out, socs)


def _with_socs(bank: list[BatteryParams], socs: Sequence[float]) -> list[BatteryParams]:
    """``bank`` with each battery's initial SoC from ``socs`` (unchanged when ``socs`` is empty)."""
    if not socs:
        return bank
    if len(socs) != len(bank):
        raise ValueError(f"{len(socs)} initial SoCs for {len(bank)} batteries")
    return [replace(params, initial_soc_pct=float(soc)) for params, soc in zip(bank, socs, strict=True)]


class PlantBank:
    """N battery plants whose outputs add up on the meter; reads as one battery for the metrics."""

    def __init__(self, params: Sequence[BatteryParams], *, start_s: float = 0.0) -> None:
        if not params:
            raise ValueError("a bank needs at least one battery")
        self.members = [BatteryPlant(p, start_s=start_s) for p in params]
        self.names = [f"b{i + 1}" for i in range(len(self.members))]
        self._capacity = sum(p.capacity_wh for p in params)
        self._modes = [member.ac_mode for member in self.members]
        self._switches = [0] * len(self.members)

    def step(self, now: float) -> float:
        total = 0.0
        for i, member in enumerate(self.members):
            total += member.step(now)
            mode = member.ac_mode
            if mode != self._modes[i]:
                self._modes[i] = mode
                self._switches[i] += 1
        return total

    @property
    def t_s(self) -> float:
        return self.members[0].t_s

    @property
    def battery_w(self) -> float:
        return sum(member.battery_w for member in self.members)

    @property
    def soc_pct(self) -> float:
        return sum(m.soc_pct * m.params.capacity_wh for m in self.members) / self._capacity

    @property
    def live_max_discharge_w(self) -> float:
        return sum(member.live_max_discharge_w for member in self.members)

    @property
    def live_max_charge_w(self) -> float:
        return sum(member.live_max_charge_w for member in self.members)

    @property
    def ac_switches(self) -> list[int]:
        """acMode changes (relay switches) per member so far."""
        return list(self._switches)

    @staticmethod
    def combined_params(params: Sequence[BatteryParams]) -> BatteryParams:
        """One battery with the bank's summed capacity and limits (the combined battery of the oracle)."""
        capacity = sum(p.capacity_wh for p in params)
        first = params[0]
        return replace(
            first,
            capacity_wh=capacity,
            max_discharge_w=sum(p.max_discharge_w for p in params),
            max_charge_w=sum(p.max_charge_w for p in params),
            initial_soc_pct=sum(p.initial_soc_pct * p.capacity_wh for p in params) / capacity,
        )


def plant_reading(plant: BatteryPlant, now: datetime) -> BatteryReading:
    """What a status read of ``plant`` returns at ``now``."""
    snap = plant.snapshot()
    return BatteryReading(
        at=now,
        soc_pct=min(100.0, max(0.0, round(snap.soc_pct, 3))),
        battery_w=snap.battery_w,
        max_discharge_w=int(snap.live_max_discharge_w),
        max_charge_w=int(snap.live_max_charge_w),
        soc_limit=snap.soc_limit,
        ac_mode=snap.ac_mode,
    )


@dataclass(frozen=True)
class _Accepted:
    accepted: bool = True
    events: tuple[EventBase, ...] = ()


@dataclass
class PlantMemberPort:
    """One member plant as the battery group's port; ``offline_from`` makes it stop answering (and stop)."""

    plant: BatteryPlant
    now: Callable[[], datetime]
    origin: datetime
    offline_from: datetime | None = None
    _offline: bool = field(default=False, init=False)

    def _check(self) -> None:
        now = self.now()
        if self.offline_from is not None and now >= self.offline_from:
            if not self._offline:  # the device drops off the LAN and, without its controller, stops
                self._offline = True
                self.plant.set_live_limits(max_discharge_w=0.0, max_charge_w=0.0)
            raise ConnectionError("device offline")

    def poll(self) -> list[EventBase]:
        self._check()
        return [plant_reading(self.plant, self.now())]

    def apply(self, command: Command) -> _Accepted:
        self._check()
        t_s = (self.now() - self.origin).total_seconds()
        self.plant.command(float(command.battery_w), at=t_s)
        return _Accepted()


class SimBatterySide(Protocol):
    """The battery as the closed loop sees it: stepped, read and commanded in simulated time."""

    def step(self, k: int) -> float: ...

    def read(self, now: datetime) -> list[EventBase]: ...

    def command(self, command: Command, k: int, now: datetime) -> list[EventBase]: ...


class SingleSimBattery:
    """One plant, read and commanded directly."""

    def __init__(self, plant: BatteryPlant) -> None:
        self.plant = plant

    def step(self, k: int) -> float:
        return self.plant.step(k)

    def read(self, now: datetime) -> list[EventBase]:
        return [plant_reading(self.plant, now)]

    def command(self, command: Command, k: int, now: datetime) -> list[EventBase]:
        self.plant.command(float(command.battery_w), at=k)
        return []


class GroupSimBattery:
    """A bank behind the daemon's :class:`BatteryGroup`: the allocator splits every command."""

    def __init__(
        self,
        bank: PlantBank,
        origin: datetime,
        *,
        min_soc_pct: float,
        max_soc_pct: float,
        stale_s: float = 30.0,
        policy: AllocationPolicy | None = None,
        offline: dict[str, float] | None = None,
    ) -> None:
        self.bank = bank
        self.origin = origin
        self._now = origin
        offline = offline or {}
        self.ports = [
            PlantMemberPort(
                plant,
                lambda: self._now,
                origin,
                offline_from=origin + timedelta(seconds=offline[name]) if name in offline else None,
            )
            for name, plant in zip(bank.names, bank.members, strict=True)
        ]
        self.group = BatteryGroup(
            [
                GroupMember(name, port, plant.params.capacity_wh)
                for name, port, plant in zip(bank.names, self.ports, bank.members, strict=True)
            ],
            now=lambda: self._now,
            min_soc_pct=min_soc_pct,
            max_soc_pct=max_soc_pct,
            stale_s=stale_s,
            policy=policy,
        )

    def step(self, k: int) -> float:
        self._now = self.origin + timedelta(seconds=k)
        return self.bank.step(k)

    def read(self, now: datetime) -> list[EventBase]:
        self._now = now
        return self.group.poll()

    def command(self, command: Command, k: int, now: datetime) -> list[EventBase]:
        self._now = now
        return list(self.group.apply(command).events)
