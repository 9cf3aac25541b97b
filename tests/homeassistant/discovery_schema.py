"""Home Assistant's documented rules for a device-discovery payload, as one checker the tests share.

Sources: HA's MQTT discovery docs (device-based discovery: ``device`` and ``origin`` at the root, every
component with ``platform`` and ``unique_id``, ids in ``[A-Za-z0-9_-]``), the sensor developer docs (which
units and state classes go with a device class; ``enum`` takes ``options`` and no unit or state class),
and the MQTT number docs (always send ``min``/``max``: the defaults 1..100 would reject real powers).
"""

from __future__ import annotations

import re
from typing import Any

from controller.domain.schedule import Mode
from controller.domain.states import State
from controller.homeassistant.discovery import SiteTopics

ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")

#: What Home Assistant's sensor documentation allows per device class (unit, state classes).
SENSOR_RULES: dict[str, tuple[set[str], set[str | None]]] = {
    "power": ({"W", "kW"}, {"measurement"}),
    "energy": ({"Wh", "kWh", "MWh", "MJ", "GJ"}, {"total", "total_increasing"}),
    "battery": ({"%"}, {"measurement"}),
    "duration": ({"s", "min", "h", "d", "ms"}, {"measurement", None}),
}


def check_documented_schema(payload: dict[str, Any], topics: SiteTopics) -> None:
    """Raise ``AssertionError`` naming the first field that breaks a documented rule."""
    # device-based discovery: device and origin are mandatory at the root, origin needs a name
    assert set(payload) <= {"device", "origin", "availability_topic", "state_topic", "qos", "components"}
    assert payload["device"]["identifiers"] == ["zsm_my_home"] and payload["device"]["name"]
    assert payload["origin"]["name"] == "zsm" and payload["origin"]["sw_version"]
    assert payload["availability_topic"] == topics.availability
    assert payload["state_topic"] == topics.state
    components: dict[str, dict[str, Any]] = payload["components"]
    unique_ids = [c["unique_id"] for c in components.values()]
    assert len(unique_ids) == len(set(unique_ids)), "unique_id must be unique"
    for key, component in components.items():
        assert ID_RE.match(key) and ID_RE.match(component["unique_id"]), key
        assert component["platform"] in {"sensor", "select", "number"}, key
        assert component["default_entity_id"].startswith(component["platform"] + "."), key
        assert component["value_template"].startswith("{{ value_json."), key
        if component["platform"] != "sensor":
            continue
        device_class = component.get("device_class")
        if device_class == "enum":  # options exclude a unit and a state class
            assert (
                component["options"]
                and "unit_of_measurement" not in component
                and "state_class" not in component
            )
        elif device_class is not None:
            units, state_classes = SENSOR_RULES[device_class]
            assert component["unit_of_measurement"] in units, key
            assert component.get("state_class") in state_classes, key
        if component.get("state_class") == "total" and "last_reset_value_template" in component:
            assert device_class == "energy"
    expected = {
        "grid_power": ("power", "measurement"),
        "battery_power": ("power", "measurement"),
        "soc": ("battery", "measurement"),
        "imported_today": ("energy", "total_increasing"),
        "exported_today": ("energy", "total_increasing"),
        "avoided_today": ("energy", "total"),
        "meter_lag": ("duration", "measurement"),
    }
    for key, (device_class, state_class) in expected.items():
        assert (components[key]["device_class"], components[key]["state_class"]) == (
            device_class,
            state_class,
        )
    assert components["state"]["options"] == [s.value for s in State]
    assert components["slot_mode"]["options"] == [m.value for m in Mode]
    assert "last_command" in components
    select, number = components["mode"], components["power"]
    assert select["options"] == ["auto", *[m.value for m in Mode]]
    assert select["command_topic"] == topics.mode_command
    # number: explicit min/max (HA defaults 1..100 would reject real powers), widest legal range
    assert (number["min"], number["max"], number["step"]) == (0, 1000, 1)
    assert (number["unit_of_measurement"], number["device_class"]) == ("W", "power")
    assert number["command_topic"] == topics.power_command
