"""Device-neutral battery commands.

Sign convention used throughout zsm: battery power is AC power at the battery's grid side,
**positive = discharging into the home**, negative = charging from AC. Grid power is **positive = import**.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["Command", "CommandKind"]


class CommandKind(StrEnum):
    """What the battery is told to do."""

    STANDBY = "standby"
    CHARGE = "charge"
    DISCHARGE = "discharge"


class Command(BaseModel):
    """One device-neutral command: standby, charge N W or discharge N W (N >= 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: CommandKind
    power_w: int = Field(default=0, ge=0, le=100_000)

    @model_validator(mode="after")
    def _standby_has_no_power(self) -> Command:
        if self.kind is CommandKind.STANDBY and self.power_w != 0:
            raise ValueError("a standby command carries power_w = 0")
        return self

    @classmethod
    def standby(cls) -> Command:
        return cls(kind=CommandKind.STANDBY)

    @classmethod
    def charge(cls, power_w: int) -> Command:
        return cls(kind=CommandKind.CHARGE, power_w=power_w)

    @classmethod
    def discharge(cls, power_w: int) -> Command:
        return cls(kind=CommandKind.DISCHARGE, power_w=power_w)

    @classmethod
    def from_battery_w(cls, battery_w: float) -> Command:
        """Command for a signed set-point (+ discharge, - charge); 0 becomes standby."""
        watts = round(battery_w)
        if watts > 0:
            return cls.discharge(watts)
        if watts < 0:
            return cls.charge(-watts)
        return cls.standby()

    @property
    def battery_w(self) -> int:
        """Signed set-point: + discharge, - charge, 0 standby."""
        if self.kind is CommandKind.DISCHARGE:
            return self.power_w
        if self.kind is CommandKind.CHARGE:
            return -self.power_w
        return 0

    def __str__(self) -> str:
        if self.kind is CommandKind.STANDBY:
            return "standby"
        return f"{self.kind.value} {self.power_w} W"
