"""What the planner needs to know and what it answers, as plain frozen data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["BatteryModel", "PlanProblem", "PlanResult", "PlanStep"]


class BatteryModel(BaseModel):
    """The battery as the planner sees it (AC powers, one-way efficiencies, usable SoC window)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    capacity_wh: float = Field(default=1920.0, gt=0, le=200_000, description="Usable capacity")
    max_charge_w: float = Field(default=1000.0, ge=0, le=50_000, description="AC charge limit")
    max_discharge_w: float = Field(default=800.0, ge=0, le=50_000, description="AC discharge limit")
    charge_efficiency: float = Field(default=0.93, gt=0.5, le=1, description="AC → stored energy")
    discharge_efficiency: float = Field(default=0.92, gt=0.5, le=1, description="Stored energy → AC")
    min_soc_pct: float = Field(default=10.0, ge=0, le=100, description="Never plan below this SoC")
    max_soc_pct: float = Field(default=100.0, ge=0, le=100, description="Never plan above this SoC")
    wear_eur_per_kwh: float = Field(default=0.02, ge=0, le=1, description="Cost per kWh discharged (wear)")
    grid_charge: bool = Field(default=True, description="May charge from the grid (else only from surplus)")
    export_discharge: bool = Field(
        default=False, description="May discharge into the grid (else only the house)"
    )

    @model_validator(mode="after")
    def _window(self) -> BatteryModel:
        if self.min_soc_pct >= self.max_soc_pct:
            raise ValueError("min_soc_pct must be below max_soc_pct")
        return self


@dataclass(frozen=True, slots=True)
class PlanProblem:
    """Equal steps from ``start``: prices (EUR/kWh) and the forecast net load (W, + = the house imports)."""

    start: datetime
    step: timedelta
    import_eur_per_kwh: tuple[float, ...]
    export_eur_per_kwh: tuple[float, ...]
    net_load_w: tuple[float, ...]
    soc_now_pct: float
    battery: BatteryModel
    grid_limit_w: float = 17_000.0

    def __post_init__(self) -> None:
        count = len(self.import_eur_per_kwh)
        if not count or len(self.export_eur_per_kwh) != count or len(self.net_load_w) != count:
            raise ValueError("prices and load must have the same, non-zero number of steps")
        if self.start.tzinfo is None:
            raise ValueError("start must be aware")

    @property
    def steps(self) -> int:
        return len(self.import_eur_per_kwh)

    @property
    def hours(self) -> float:
        """Length of one step in hours."""
        return self.step.total_seconds() / 3600

    def step_start(self, index: int) -> datetime:
        return self.start + index * self.step


@dataclass(frozen=True, slots=True)
class PlanStep:
    """The planned battery and grid flows of one step (W, averages) and the SoC around it."""

    start: datetime
    end: datetime
    charge_w: float
    discharge_w: float
    import_w: float
    export_w: float
    net_load_w: float
    soc_start_pct: float
    soc_end_pct: float
    import_eur_per_kwh: float
    export_eur_per_kwh: float

    @property
    def cost_eur(self) -> float:
        """Grid cost of the step with the plan."""
        hours = (self.end - self.start).total_seconds() / 3600
        return (
            hours / 1000 * (self.import_w * self.import_eur_per_kwh - self.export_w * self.export_eur_per_kwh)
        )

    @property
    def cost_without_battery_eur(self) -> float:
        """Grid cost of the step had the battery stayed idle."""
        hours = (self.end - self.start).total_seconds() / 3600
        load = self.net_load_w
        price = self.import_eur_per_kwh if load >= 0 else self.export_eur_per_kwh
        return hours / 1000 * load * price


@dataclass(frozen=True, slots=True)
class PlanResult:
    """The solved plan, its expected cost, and how the solver did."""

    steps: tuple[PlanStep, ...]
    cost_eur: float
    cost_without_battery_eur: float
    solve_s: float
    status: str
