"""Build the battery and meter adapters the daemon drives from the settings."""

from __future__ import annotations

from controller.clock import Clock
from controller.daemon.control_loop import BatteryPort
from controller.daemon.daemon import Devices
from controller.devices.battery_group import BatteryGroup, GroupMember
from controller.devices.factory import build_battery_port, build_meter
from controller.domain.allocation import AllocationPolicy
from controller.settings import Settings

__all__ = ["build_battery_group", "build_devices"]


def build_battery_group(settings: Settings, clock: Clock) -> BatteryGroup:
    """The ``[[batteries]]`` of the settings behind one battery port, split by ``[allocation]``."""
    members = [
        GroupMember(
            member.name,
            build_battery_port(settings.model_copy(update={"battery": member}), clock),
            member.capacity_wh,
        )
        for member in settings.batteries
    ]
    alloc = settings.allocation
    return BatteryGroup(
        members,
        now=clock.now,
        min_soc_pct=settings.limits.min_soc_pct,
        max_soc_pct=settings.limits.max_soc_pct,
        stale_s=settings.limits.battery_stale_s,
        policy=AllocationPolicy(
            circuit_limit_w=alloc.circuit_limit_w,
            rotate_soc_pts=alloc.rotate_soc_pts,
            drop_fraction=alloc.drop_fraction,
            balance_gain=alloc.balance_gain,
        ),
    )


def build_devices(settings: Settings, clock: Clock) -> Devices:
    """The battery (zenSDK or MQTT, or a group of them for ``[[batteries]]``) and the P1 meter."""
    battery: BatteryPort = (
        build_battery_group(settings, clock) if settings.batteries else build_battery_port(settings, clock)
    )
    return Devices(battery=battery, meter=build_meter(settings, clock))
