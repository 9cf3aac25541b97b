"""The seam to the schedule model in :mod:`controller.domain.schedule`: validation, JSON Schema, default.

Validation errors become a list of ``{"loc", "slot", "field", "msg"}`` items so that the API's 422 reply
and the web page can name the slot (``recurring[3]``) and the field (``power_w``) of every problem.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from controller.domain.schedule import SCHEMA_PATH, Schedule, device_limits_context
from controller.domain.schedule import schedule_json_schema as generated_json_schema
from storage.server.errors import InvalidSchedule

__all__ = ["default_schedule", "error_items", "schedule_json_schema", "validate_schedule"]


def error_items(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """pydantic error dicts -> ``{"loc", "slot", "field", "msg"}`` (slot is e.g. ``recurring[3]``)."""
    items: list[dict[str, Any]] = []
    for error in errors:
        loc = [part for part in error.get("loc", ()) if part not in ("body",)]
        slot: str | None = None
        field_parts = [str(part) for part in loc]
        for i, part in enumerate(loc):
            if isinstance(part, int):
                slot = ".".join(str(p) for p in loc[:i]) + f"[{part}]"
                field_parts = [str(p) for p in loc[i + 1 :]]
                break
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        items.append({"loc": loc, "slot": slot, "field": ".".join(field_parts) or None, "msg": message})
    return items


def validate_schedule(body: Any, limits: dict[str, int] | None = None) -> dict[str, Any]:
    """Validate ``body`` as a schedule; returns its normalised JSON form or raises :class:`InvalidSchedule`.

    ``limits`` may carry the site's device maxima (``max_charge_w``, ``max_discharge_w``).
    """
    if not isinstance(body, dict):
        raise InvalidSchedule(
            [{"loc": [], "slot": None, "field": None, "msg": "a schedule is a JSON object"}]
        )
    limits = limits or {}
    context = device_limits_context(limits.get("max_charge_w"), limits.get("max_discharge_w"))
    try:
        schedule = Schedule.model_validate(body, context=context)
    except ValidationError as err:
        raise InvalidSchedule(error_items(err.errors(include_url=False, include_input=False))) from err
    result: dict[str, Any] = schedule.model_dump(mode="json")
    return result


def schedule_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a schedule (the file shipped with the model, else generated)."""
    if SCHEMA_PATH.is_file():
        loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
        return loaded
    return generated_json_schema()


def default_schedule() -> dict[str, Any]:
    """The schedule in force before anyone saved one (everything on the default mode)."""
    dumped: dict[str, Any] = Schedule().model_dump(mode="json")
    return dumped
