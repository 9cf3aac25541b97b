"""The discovery payload against HA's documented rules without a broker, and the checker's teeth."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from controller.homeassistant.discovery import SiteTopics, discovery_payload, node_id
from tests.homeassistant.discovery_schema import check_documented_schema

TOPICS = SiteTopics.for_site("homeassistant", "zsm", "my home")


def payload() -> dict[str, Any]:
    return discovery_payload(TOPICS, "my home", "1.2.3", max_power_w=1000)


def test_payload_follows_the_documented_schema() -> None:
    check_documented_schema(payload(), TOPICS)
    assert TOPICS.discovery == "homeassistant/device/zsm_my_home/config"
    assert TOPICS.ha_status == "homeassistant/status"


def test_site_ids_are_made_safe_for_topics_and_unique_ids() -> None:
    assert node_id("Huis/Oost #2") == "zsm_Huis_Oost__2"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("components", "grid_power", "state_class"), "total_increasing"),  # power is a measurement
        (("components", "imported_today", "unit_of_measurement"), "W"),  # energy needs an energy unit
        (("components", "state", "state_class"), "measurement"),  # enum takes no state class
        (("components", "power", "unique_id"), "zsm_my_home_soc"),  # unique ids must be unique
        (("components", "soc", "unique_id"), "zsm my home soc"),  # only [A-Za-z0-9_-]
        (("components", "power", "max"), 100),  # HA's default range would reject real powers
        (("origin", "name"), ""),  # origin needs a name in device discovery
    ],
)
def test_the_checker_catches_each_broken_rule(path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(payload())
    target = broken
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(AssertionError):
        check_documented_schema(broken, TOPICS)
