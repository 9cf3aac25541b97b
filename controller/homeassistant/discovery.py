"""The topics of one site and its Home Assistant device-discovery payload (pure).

One device per site, announced with device-based discovery on ``<prefix>/device/<node>/config``: the
sensors read one retained JSON state topic through ``value_template``s, the ``select`` and the ``number``
command through their own ``…/set`` topics, and every component shares the availability topic (``online``
/ ``offline``, HA's defaults) that the daemon's MQTT last will sets to ``offline``. Ids use only
``[A-Za-z0-9_-]`` as Home Assistant requires.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from controller.domain.schedule import Mode
from controller.domain.states import State

__all__ = ["MODE_OPTIONS", "SiteTopics", "discovery_payload", "node_id"]

#: The select's options: ``auto`` follows the schedule, the others override it for a while.
MODE_OPTIONS: Final = ("auto", *(mode.value for mode in Mode))
ORIGIN_NAME: Final = "zsm"


def node_id(site_id: str) -> str:
    """The site's id as Home Assistant allows it in topics and unique ids."""
    return "zsm_" + re.sub(r"[^A-Za-z0-9_-]", "_", site_id)


@dataclass(frozen=True, slots=True)
class SiteTopics:
    """Every MQTT topic of one site."""

    discovery_prefix: str
    base: str
    node: str

    @classmethod
    def for_site(cls, discovery_prefix: str, base_topic: str, site_id: str) -> SiteTopics:
        node = node_id(site_id)
        return cls(discovery_prefix=discovery_prefix, base=f"{base_topic}/{node}", node=node)

    @property
    def discovery(self) -> str:
        return f"{self.discovery_prefix}/device/{self.node}/config"

    @property
    def ha_status(self) -> str:
        """Where Home Assistant announces itself ``online`` (its birth message) and ``offline``."""
        return f"{self.discovery_prefix}/status"

    @property
    def availability(self) -> str:
        return f"{self.base}/status"

    @property
    def state(self) -> str:
        return f"{self.base}/state"

    @property
    def mode_command(self) -> str:
        return f"{self.base}/mode/set"

    @property
    def power_command(self) -> str:
        return f"{self.base}/power/set"


def _value(field: str) -> str:
    return "{{ value_json." + field + " }}"


def _sensor(name: str, field: str, **extra: Any) -> dict[str, Any]:
    return {"platform": "sensor", "name": name, "value_template": _value(field), **extra}


def _components(max_power_w: int) -> dict[str, dict[str, Any]]:
    power = {"device_class": "power", "unit_of_measurement": "W", "state_class": "measurement"}
    energy = {"device_class": "energy", "unit_of_measurement": "kWh"}
    return {
        "grid_power": _sensor("Grid power", "grid_w", **power),
        "battery_power": _sensor("Battery power", "battery_w", **power),
        "soc": _sensor(
            "State of charge",
            "soc_pct",
            device_class="battery",
            unit_of_measurement="%",
            state_class="measurement",
        ),
        "state": _sensor("State", "state", device_class="enum", options=[state.value for state in State]),
        "slot_mode": _sensor("Slot mode", "slot_mode", device_class="enum", options=[m.value for m in Mode]),
        "last_command": _sensor("Last command", "last_command", icon="mdi:battery-sync"),
        "meter_lag": _sensor(
            "Meter lag",
            "meter_lag_s",
            device_class="duration",
            unit_of_measurement="s",
            state_class="measurement",
            entity_category="diagnostic",
        ),
        "imported_today": _sensor("Imported today", "imported_kwh", state_class="total_increasing", **energy),
        "exported_today": _sensor("Exported today", "exported_kwh", state_class="total_increasing", **energy),
        # can fall (charging from the grid costs import), so a total with its own reset time
        "avoided_today": _sensor(
            "Import avoided today",
            "avoided_kwh",
            state_class="total",
            last_reset_value_template=_value("counting_since"),
            **energy,
        ),
        "mode": {
            "platform": "select",
            "name": "Mode override",
            "options": list(MODE_OPTIONS),
            "value_template": _value("override_mode"),
            "icon": "mdi:battery-clock",
        },
        "power": {
            "platform": "number",
            "name": "Override power",
            "min": 0,
            "max": max_power_w,
            "step": 1,
            "mode": "box",
            "device_class": "power",
            "unit_of_measurement": "W",
            "value_template": _value("override_power_w"),
        },
    }


def discovery_payload(topics: SiteTopics, site_id: str, version: str, max_power_w: int) -> dict[str, Any]:
    """The device-discovery message (publish retained on :attr:`SiteTopics.discovery`)."""
    components = _components(max_power_w)
    for key, component in components.items():
        component["unique_id"] = f"{topics.node}_{key}"
        component["default_entity_id"] = f"{component['platform']}.{topics.node}_{key}".lower()
    components["mode"]["command_topic"] = topics.mode_command
    components["power"]["command_topic"] = topics.power_command
    return {
        "device": {
            "identifiers": [topics.node],
            "name": f"zsm {site_id}",
            "manufacturer": "zsm",
            "model": "Battery controller",
            "sw_version": version,
        },
        "origin": {"name": ORIGIN_NAME, "sw_version": version},
        "availability_topic": topics.availability,
        "state_topic": topics.state,
        "qos": 1,
        "components": components,
    }
