"""The seam to the schedule model in :mod:`controller.domain.schedule`: validation, JSON Schema, default.

Validation errors become a list of ``{"loc", "slot", "field", "msg"}`` items so that the API's 422 reply
and the web page can name the slot (``recurring[3]``) and the field (``power_w``) of every problem.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from storage.server.errors import InvalidSchedule

__all__ = ["default_schedule", "error_items", "schedule_json_schema", "validate_schedule"]

_SCHEMA_FILE = Path(__file__).resolve().parents[2] / "controller" / "domain" / "schedule.schema.json"


def _module() -> Any | None:
    try:
        return importlib.import_module("controller.domain.schedule")
    except ImportError:
        return None


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
    module = _module()
    if module is None:
        return body
    try:
        schedule = module.Schedule.model_validate(body, context=limits or {})
    except ValidationError as err:
        raise InvalidSchedule(error_items(err.errors())) from err
    result: dict[str, Any] = schedule.model_dump(mode="json")
    return result


def schedule_json_schema() -> dict[str, Any]:
    """The published JSON Schema of a schedule."""
    if _SCHEMA_FILE.is_file():
        loaded: dict[str, Any] = json.loads(_SCHEMA_FILE.read_text(encoding="utf-8"))
        return loaded
    module = _module()
    if module is not None:
        generated: dict[str, Any] = module.Schedule.model_json_schema()
        return generated
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "Schedule", "type": "object"}


def default_schedule() -> dict[str, Any]:
    """The schedule in force before anyone saved one (everything on the default mode)."""
    module = _module()
    if module is None:
        return {}
    try:
        dumped: dict[str, Any] = module.Schedule().model_dump(mode="json")
    except ValidationError:
        return {}
    return dumped
