"""Split one total battery set-point across several batteries on one meter.

The regulator keeps one total target; this module decides which batteries carry it and how much each
takes. It is pure: the caller keeps the returned :class:`AllocationState` and hands it back next time.

The rule, from what peers do and what owners report (../shared/reference/multi-battery.md):

* **Fewest devices first.** A battery at a small share runs inefficiently and below its start threshold
  may not latch at all, so as few batteries as cover the target carry it, each at the same fraction of its
  own limit (Zendure's proxy runs one device below 40 % of one device's limit, and adds a second only
  when the first cannot cover the target).
* **Priority by state of charge.** Discharge takes the fullest battery first, charge the emptiest, so a
  battery that runs drifts toward the others; an idle battery replaces an active one when their SoC
  differs by more than ``rotate_soc_pts`` (5 points, as the proxy: fewer switches than at 1 point).
* **Hysteresis on the active set.** A battery is added when the active ones cannot cover the target and
  dropped only when the others could carry the target at ``drop_fraction`` of their limits, so a load
  that hovers near a boundary does not start and stop a battery every tick.
* **Balance inside the active set.** Active batteries share the target by their limits, tilted toward the
  fuller one when discharging and the emptier one when charging (``balance_gain`` per 100 SoC points, as
  AstraMeter's balancer), so two batteries that must both run still converge in SoC.
* **Limits.** Each battery's own live limits and its SoC limits bind; the shared circuit (fuse) limit
  caps the total. A battery that is offline, blocked or at its SoC limit is left out at once, so the
  others cover it in the same allocation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Allocation", "AllocationPolicy", "AllocationState", "BatteryUnit", "allocate"]


@dataclass(frozen=True)
class BatteryUnit:
    """One battery as the allocator sees it now (powers in W, SoC in %)."""

    name: str
    soc_pct: float
    max_discharge_w: float
    max_charge_w: float
    min_soc_pct: float = 0.0
    max_soc_pct: float = 100.0
    capacity_wh: float = 1000.0
    online: bool = True

    def limit_w(self, discharging: bool) -> float:
        """What this battery can take in the given direction now (0 when it must not run)."""
        if not self.online:
            return 0.0
        if discharging:
            return max(0.0, self.max_discharge_w) if self.soc_pct > self.min_soc_pct else 0.0
        return max(0.0, self.max_charge_w) if self.soc_pct < self.max_soc_pct else 0.0


@dataclass(frozen=True)
class AllocationPolicy:
    """Tuning of the split; the defaults follow the peers cited in the module docstring."""

    circuit_limit_w: float | None = None
    rotate_soc_pts: float = 5.0
    drop_fraction: float = 0.8
    balance_gain: float = 5.0


@dataclass(frozen=True)
class AllocationState:
    """What the allocator remembers between calls: the active batteries and their direction."""

    active: tuple[str, ...] = ()
    discharging: bool = True


@dataclass(frozen=True)
class Allocation:
    """Per-battery set-points (+ discharge, − charge), their total, and the state for the next call."""

    shares_w: dict[str, float]
    state: AllocationState
    total_w: float = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_w", sum(self.shares_w.values()))


def allocate(
    target_w: float,
    units: Sequence[BatteryUnit],
    state: AllocationState = AllocationState(),
    policy: AllocationPolicy = AllocationPolicy(),
) -> Allocation:
    """Split ``target_w`` (+ discharge, − charge) over ``units``; see the module docstring for the rule."""
    names = [unit.name for unit in units]
    if len(set(names)) != len(names):
        raise ValueError("battery names must be unique")
    idle = {unit.name: 0.0 for unit in units}
    discharging = target_w > 0
    wanted = abs(target_w)
    if policy.circuit_limit_w is not None:
        wanted = min(wanted, max(0.0, policy.circuit_limit_w))
    if wanted <= 0.0:
        return Allocation(idle, AllocationState((), state.discharging))
    usable = [unit for unit in units if unit.limit_w(discharging) > 0.0]
    if not usable:
        return Allocation(idle, AllocationState((), discharging))
    order = _priority(usable, discharging)
    kept = state.active if state.discharging == discharging else ()
    active = _choose_active(order, kept, wanted, discharging, policy)
    active = _rotate(order, active, discharging, policy)
    shares = _split(wanted, [unit for unit in order if unit.name in active], discharging, policy.balance_gain)
    sign = 1.0 if discharging else -1.0
    result = dict(idle)
    for name, watts in shares.items():
        result[name] = sign * watts
    ordered_active = tuple(unit.name for unit in order if unit.name in active)
    return Allocation(result, AllocationState(ordered_active, discharging))


def _priority(units: Sequence[BatteryUnit], discharging: bool) -> list[BatteryUnit]:
    """Fullest first when discharging, emptiest first when charging; ties by name for determinism."""
    if discharging:
        return sorted(units, key=lambda unit: (-unit.soc_pct, unit.name))
    return sorted(units, key=lambda unit: (unit.soc_pct, unit.name))


def _choose_active(
    order: list[BatteryUnit],
    kept: tuple[str, ...],
    wanted: float,
    discharging: bool,
    policy: AllocationPolicy,
) -> set[str]:
    """Keep the previous active set where it still fits; add in priority order; drop with hysteresis."""
    usable = {unit.name for unit in order}
    active = [unit for unit in order if unit.name in kept and unit.name in usable]
    if not active:
        active = [order[0]]
    for unit in order:
        if sum(u.limit_w(discharging) for u in active) >= wanted:
            break
        if unit not in active:
            active.append(unit)
    while len(active) > 1:
        weakest = _least_wanted(active, order)
        rest = sum(u.limit_w(discharging) for u in active if u is not weakest)
        if rest * policy.drop_fraction < wanted:
            break
        active.remove(weakest)
    return {unit.name for unit in active}


def _least_wanted(active: list[BatteryUnit], order: list[BatteryUnit]) -> BatteryUnit:
    rank = {unit.name: index for index, unit in enumerate(order)}
    return max(active, key=lambda unit: rank[unit.name])


def _rotate(
    order: list[BatteryUnit], active: set[str], discharging: bool, policy: AllocationPolicy
) -> set[str]:
    """Swap the worst active battery for the best idle one when their SoC differs by the rotate margin."""
    idle = [unit for unit in order if unit.name not in active]
    if not idle:
        return active
    best_idle = idle[0]
    running = [unit for unit in order if unit.name in active]
    worst = running[-1]
    gap = best_idle.soc_pct - worst.soc_pct if discharging else worst.soc_pct - best_idle.soc_pct
    if gap <= policy.rotate_soc_pts:
        return active
    return (active - {worst.name}) | {best_idle.name}


def _split(wanted: float, active: list[BatteryUnit], discharging: bool, gain: float) -> dict[str, float]:
    """Share ``wanted`` by limit × SoC tilt, capping each battery at its limit and passing on the excess."""
    mean_soc = sum(unit.soc_pct for unit in active) / len(active)
    weights: dict[str, float] = {}
    for unit in active:
        lead = (unit.soc_pct - mean_soc) if discharging else (mean_soc - unit.soc_pct)
        weights[unit.name] = unit.limit_w(discharging) * max(0.05, 1.0 + gain * lead / 100.0)
    limits = {unit.name: unit.limit_w(discharging) for unit in active}
    shares: dict[str, float] = {}
    left = wanted
    open_names = [unit.name for unit in active]
    while open_names and left > 1e-9:
        total_weight = sum(weights[name] for name in open_names)
        if total_weight <= 0.0:  # limits so small that the weights underflow: share evenly within limits
            for name in open_names:
                shares[name] = min(limits[name], left / len(open_names))
            break
        capped = [name for name in open_names if left * weights[name] / total_weight >= limits[name]]
        if not capped:
            for name in open_names:
                shares[name] = left * weights[name] / total_weight
            left = 0.0
            break
        for name in capped:
            shares[name] = limits[name]
            left -= limits[name]
            open_names.remove(name)
    return {unit.name: shares.get(unit.name, 0.0) for unit in active}
