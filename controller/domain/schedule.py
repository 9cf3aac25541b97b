"""The battery schedule: weekly recurring slots, dated one-off slots and a default, resolved DST-correctly.

Times in a schedule are local to its IANA ``timezone`` (default Europe/Amsterdam). Resolution rules:

- A recurring slot starts on each of its ``days`` at ``start`` and ends at ``end`` the same day, or the next
  day when ``end <= start`` (so ``22:00``-``06:00`` crosses midnight and ``00:00``-``00:00`` is a whole day).
- A dated slot runs from ``start`` to ``end``; naive date-times are local, ones with an offset are absolute.
- Dated slots override recurring ones; time covered by neither follows ``default``.
- A local wall time that occurs twice (the repeated hour in autumn) means its **first** occurrence; one that
  does not exist (the skipped hour in spring) means the moment the clock jumps past it. Every boundary
  maps to one instant, so adjacent slots never overlap and a slot is one continuous UTC interval.

Validation errors carry a ``loc`` naming the slot and field, e.g. ``("recurring", 3, "power_w")``. Pass
a device maximum as validation context (:func:`device_limits_context`) or :meth:`Schedule.validate_against`.

``python -m controller.domain.schedule [path]`` rewrites the published JSON Schema file.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar, cast
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = [
    "DEFAULT_TIMEZONE",
    "MAX_BATTERY_W",
    "MAX_OFFSET_W",
    "MAX_OVERLAPS_REPORTED",
    "MAX_SCHEDULE_BYTES",
    "MAX_SLOTS",
    "MAX_YEAR",
    "MIN_YEAR",
    "SCHEMA_PATH",
    "ActiveSlot",
    "DatedSlot",
    "Mode",
    "RecurringSlot",
    "Schedule",
    "SlotAction",
    "Weekday",
    "device_limits_context",
    "schedule_json_schema",
    "write_schema",
]

LOGGER = logging.getLogger(__name__)

SCHEMA_PATH = Path(__file__).with_name("schedule.schema.json")
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DEFAULT_TIMEZONE = "Europe/Amsterdam"

#: Bounds of every schedule, wherever it comes from (server, file, URL): document size, slots, watts, years.
MAX_SCHEDULE_BYTES = 256 * 1024
MAX_SLOTS = 1000
MAX_BATTERY_W = 10_000
MAX_OFFSET_W = 1_000
MIN_YEAR = 2000
MAX_YEAR = 2199
MAX_OVERLAPS_REPORTED = 5

_DAY_S = 86_400
_Point = TypeVar("_Point", int, datetime)
_WEEK_S = 7 * _DAY_S
_HORIZON = timedelta(days=8)


class Mode(StrEnum):
    """What the battery should do during a slot."""

    CHARGE = "charge"
    DISCHARGE = "discharge"
    NETZERO = "netzero"
    NETZERO_PLUS = "netzero_plus"
    STANDBY = "standby"


class Weekday(StrEnum):
    """Day of the week (local), as three-letter English names."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


_WEEKDAY_INDEX = {day: index for index, day in enumerate(Weekday)}


def device_limits_context(max_charge_w: int | None, max_discharge_w: int | None) -> dict[str, int | None]:
    """Validation context that rejects powers above the device maximum: ``model_validate(x, context=...)``."""
    return {"max_charge_w": max_charge_w, "max_discharge_w": max_discharge_w}


def _custom(kind: str, message: str, **ctx: Any) -> PydanticCustomError:
    return PydanticCustomError(kind, message, ctx or None)


def _who(info: ValidationInfo) -> str:
    slot_id = info.data.get("id")
    return f"slot '{slot_id}': " if slot_id else ""


def _device_max(info: ValidationInfo, mode: Mode) -> int | None:
    context = info.context
    if not isinstance(context, dict):
        return None
    key = "max_charge_w" if mode in (Mode.CHARGE, Mode.NETZERO_PLUS) else "max_discharge_w"
    value = context.get(key)
    return value if isinstance(value, int) else None


_NULL: dict[str, Any] = {"type": "null"}
#: Which parameters each mode takes, for editors that work from the JSON Schema alone.
_MODE_RULES: list[dict[str, Any]] = [
    {
        "if": {"properties": {"mode": {"enum": ["charge", "discharge"]}}},
        "then": {"required": ["power_w"], "properties": {"max_w": _NULL, "target_offset_w": _NULL}},
    },
    {"if": {"properties": {"mode": {"const": "netzero"}}}, "then": {"properties": {"power_w": _NULL}}},
    {
        "if": {"properties": {"mode": {"const": "netzero_plus"}}},
        "then": {"properties": {"power_w": _NULL, "target_offset_w": _NULL}},
    },
    {
        "if": {"properties": {"mode": {"const": "standby"}}},
        "then": {"properties": {"power_w": _NULL, "max_w": _NULL, "target_offset_w": _NULL}},
    },
]
_LOCAL_TIME = WithJsonSchema({"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"})
_DATE_TIME = WithJsonSchema(
    {
        "type": "string",
        "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$",
    }
)
LocalTime = Annotated[time, _LOCAL_TIME]
LocalOrOffsetDateTime = Annotated[datetime, _DATE_TIME]


class PlanNote(BaseModel):
    """Why a planner chose a slot (absent on slots a person wrote): shown by the page and the audit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    planner: str = Field(min_length=1, max_length=64, description="What planned the slot, e.g. 'zsm plan'")
    price_eur_per_kwh: float | None = Field(
        default=None, ge=-10, le=10, description="Import price in the slot (EUR/kWh, tariff included)"
    )
    expected_soc_start_pct: float | None = Field(default=None, ge=0, le=100, description="SoC at the start")
    expected_soc_end_pct: float | None = Field(default=None, ge=0, le=100, description="SoC at the end")
    expected_saving_eur: float | None = Field(
        default=None, ge=-1000, le=1000, description="Saving against no battery over the slot (EUR)"
    )
    reason: str = Field(default="", max_length=200, description="One line a person can read")


class SlotAction(BaseModel):
    """What to do: a mode and its parameters (also the schedule's default for uncovered time)."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", json_schema_extra={"allOf": cast(list[JsonValue], _MODE_RULES)}
    )

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Optional name, shown in errors, events and audits",
    )
    mode: Mode = Field(
        description="charge / discharge at power_w; netzero: discharge to cancel grid import; "
        "netzero_plus: charge to absorb grid export; standby"
    )
    power_w: int | None = Field(
        default=None,
        gt=0,
        le=MAX_BATTERY_W,
        validate_default=True,
        description="Battery AC power in W; required for charge and discharge, not allowed for other modes",
    )
    max_w: int | None = Field(
        default=None,
        ge=0,
        le=MAX_BATTERY_W,
        validate_default=True,
        description="Optional cap in W for netzero (discharge) and netzero_plus (charge)",
    )
    target_offset_w: float | None = Field(
        default=None,
        ge=-MAX_OFFSET_W,
        le=MAX_OFFSET_W,
        allow_inf_nan=False,
        validate_default=True,
        description="netzero only: aim for this grid import in W instead of 0 (negative = export)",
    )
    plan: PlanNote | None = Field(default=None, description="Set by a planner: why this slot (for audits)")

    @field_validator("power_w")
    @classmethod
    def _power_fits_mode(cls, value: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("mode")
        if mode is None:
            return value
        if mode in (Mode.CHARGE, Mode.DISCHARGE):
            if value is None:
                raise _custom(
                    "power_required", "{who}mode {mode} needs power_w", who=_who(info), mode=str(mode)
                )
            limit = _device_max(info, mode)
            if limit is not None and value > limit:
                raise _custom(
                    "power_above_device_max",
                    "{who}power_w {power_w} W is above the device maximum of {limit} W for {mode}",
                    who=_who(info),
                    power_w=value,
                    limit=limit,
                    mode=str(mode),
                )
        elif value is not None:
            raise _custom(
                "field_not_allowed", "{who}power_w is only allowed for charge and discharge", who=_who(info)
            )
        return value

    @field_validator("max_w")
    @classmethod
    def _max_fits_mode(cls, value: int | None, info: ValidationInfo) -> int | None:
        mode = info.data.get("mode")
        if mode is None or value is None:
            return value
        if mode not in (Mode.NETZERO, Mode.NETZERO_PLUS):
            raise _custom(
                "field_not_allowed", "{who}max_w is only allowed for netzero and netzero_plus", who=_who(info)
            )
        limit = _device_max(info, mode)
        if limit is not None and value > limit:
            raise _custom(
                "power_above_device_max",
                "{who}max_w {max_w} W is above the device maximum of {limit} W for {mode}",
                who=_who(info),
                max_w=value,
                limit=limit,
                mode=str(mode),
            )
        return value

    @field_validator("target_offset_w")
    @classmethod
    def _offset_fits_mode(cls, value: float | None, info: ValidationInfo) -> float | None:
        mode = info.data.get("mode")
        if mode is not None and value is not None and mode is not Mode.NETZERO:
            raise _custom(
                "field_not_allowed", "{who}target_offset_w is only allowed for netzero", who=_who(info)
            )
        return value


def _local_time(value: time, info: ValidationInfo) -> time:
    if value.tzinfo is not None:
        raise _custom(
            "local_time_required",
            "{who}{field} must be a local time without offset (the schedule's timezone applies)",
            who=_who(info),
            field=str(info.field_name),
        )
    return value


class RecurringSlot(SlotAction):
    """A weekly slot: on each of ``days`` from local ``start`` to ``end`` (next day when ``end <= start``)."""

    days: tuple[Weekday, ...] = Field(
        min_length=1,
        description="Days on which the slot starts (local)",
        json_schema_extra={"uniqueItems": True},
    )
    start: LocalTime = Field(description="Local start time, HH:MM[:SS]")
    end: LocalTime = Field(description="Local end time, HH:MM[:SS]; at or before start means the next day")

    _day_indices: frozenset[int] = PrivateAttr(default=frozenset())

    @field_validator("days")
    @classmethod
    def _unique_days(cls, value: tuple[Weekday, ...], info: ValidationInfo) -> tuple[Weekday, ...]:
        if len(set(value)) != len(value):
            raise _custom("duplicate_day", "{who}days lists a day more than once", who=_who(info))
        return value

    _start_is_local = field_validator("start")(_local_time)
    _end_is_local = field_validator("end")(_local_time)

    @model_validator(mode="after")
    def _index_days(self) -> RecurringSlot:
        self._day_indices = frozenset(_WEEKDAY_INDEX[day] for day in self.days)
        return self

    def duration_s(self) -> int:
        """Nominal (wall-clock) length in seconds, 1 s .. 24 h."""
        length = (_seconds(self.end) - _seconds(self.start)) % _DAY_S
        return length or _DAY_S

    def starts_on(self, day: date) -> bool:
        return day.weekday() in self._day_indices


class DatedSlot(SlotAction):
    """A one-off slot from ``start`` to ``end`` (local when naive, absolute with an offset)."""

    start: LocalOrOffsetDateTime = Field(
        description="Start date-time; without offset it is local to the schedule's timezone"
    )
    end: LocalOrOffsetDateTime = Field(description="End date-time (exclusive); must be after start")

    @field_validator("start", "end")
    @classmethod
    def _sane_year(cls, value: datetime, info: ValidationInfo) -> datetime:
        if not MIN_YEAR <= value.year <= MAX_YEAR:
            raise _custom(
                "year_out_of_range",
                "{who}{field} must lie in the years {low}..{high}",
                who=_who(info),
                field=str(info.field_name),
                low=MIN_YEAR,
                high=MAX_YEAR,
            )
        return value


@dataclass(frozen=True, slots=True)
class ActiveSlot:
    """The slot in force at some instant, with its UTC bounds (``None`` for the default: unbounded)."""

    key: str
    slot_id: str | None
    mode: Mode
    power_w: int | None
    max_w: int | None
    target_offset_w: float | None
    start: datetime | None
    end: datetime | None

    @property
    def label(self) -> str:
        """The slot's id, else its position (``recurring[3]``, ``dated[0]``, ``default``)."""
        return self.slot_id or self.key

    def same_action(self, other: ActiveSlot | None) -> bool:
        """True when ``other`` is the same slot (by label) with the same mode and parameters."""
        return (
            other is not None
            and self.label == other.label
            and self.mode is other.mode
            and self.power_w == other.power_w
            and self.max_w == other.max_w
            and self.target_offset_w == other.target_offset_w
        )


class Schedule(BaseModel):
    """A battery schedule: default mode, weekly recurring slots and dated one-off slots, in one timezone."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        title="zsm battery schedule",
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Amsterdam",
                    "default": {"mode": "standby"},
                    "recurring": [
                        {
                            "id": "night-charge",
                            "days": ["mon", "tue", "wed", "thu", "fri"],
                            "start": "01:00",
                            "end": "05:00",
                            "mode": "charge",
                            "power_w": 800,
                        },
                        {
                            "id": "evening",
                            "days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                            "start": "17:00",
                            "end": "23:00",
                            "mode": "netzero",
                            "max_w": 600,
                        },
                    ],
                    "dated": [
                        {
                            "id": "away",
                            "start": "2026-12-24T00:00",
                            "end": "2026-12-27T00:00",
                            "mode": "standby",
                        }
                    ],
                }
            ]
        },
    )

    timezone: str = Field(
        default=DEFAULT_TIMEZONE, description="IANA timezone of all local times in the schedule"
    )
    default: SlotAction = Field(
        default_factory=lambda: SlotAction(mode=Mode.STANDBY), description="What to do when no slot is active"
    )
    recurring: tuple[RecurringSlot, ...] = Field(
        default=(), max_length=MAX_SLOTS, description="Weekly slots; they must not overlap"
    )
    dated: tuple[DatedSlot, ...] = Field(
        default=(),
        max_length=MAX_SLOTS,
        description="One-off slots; they override recurring slots and must not overlap each other",
    )

    _tz: tzinfo = PrivateAttr(default=UTC)
    _dated_utc: tuple[tuple[datetime, datetime], ...] = PrivateAttr(default=())

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ValueError, KeyError, OSError) as err:  # ZoneInfoNotFoundError is a KeyError
            raise _custom("unknown_timezone", "unknown timezone '{timezone}'", timezone=value) from err
        return value

    @model_validator(mode="before")
    @classmethod
    def _few_enough_slots(cls, data: Any) -> Any:
        """Refuse more than ``MAX_SLOTS`` slots before any of them is validated."""
        if isinstance(data, dict):
            count = sum(
                len(part) for key in ("recurring", "dated") if isinstance(part := data.get(key), list | tuple)
            )
            if count > MAX_SLOTS:
                raise _custom(
                    "too_many_slots",
                    "{count} slots; a schedule holds at most {limit}",
                    count=count,
                    limit=MAX_SLOTS,
                )
        return data

    @model_validator(mode="after")
    def _check_slots(self) -> Schedule:
        self._tz = ZoneInfo(self.timezone)
        self._dated_utc = tuple((self._to_utc(s.start), self._to_utc(s.end)) for s in self.dated)
        problems = self._dated_problems() + self._recurring_problems()
        if problems:
            raise ValidationError.from_exception_data(type(self).__name__, problems)
        return self

    # -- validation helpers -------------------------------------------------------------------------

    def _dated_problems(self) -> list[InitErrorDetails]:
        problems: list[InitErrorDetails] = []
        bounds = self._dated_utc
        for index, (slot, (start, end)) in enumerate(zip(self.dated, bounds, strict=True)):
            if end <= start:
                problems.append(
                    _error(
                        ("dated", index, "end"),
                        slot.end,
                        "end_before_start",
                        f"{_name(slot, 'dated', index)}: end {slot.end.isoformat()} is not after "
                        f"start {slot.start.isoformat()}",
                    )
                )
        spans = [(start, end, index) for index, (start, end) in enumerate(bounds) if start < end]
        clashes = _sweep(spans)
        for index, other in clashes[:MAX_OVERLAPS_REPORTED]:
            slot = self.dated[index]
            problems.append(
                _error(
                    ("dated", index, "start"),
                    slot.start,
                    "slot_overlap",
                    f"{_name(slot, 'dated', index)} overlaps {_name(self.dated[other], 'dated', other)}",
                )
            )
        problems.extend(_more_overlaps("dated", len(clashes)))
        return problems

    def _recurring_problems(self) -> list[InitErrorDetails]:
        problems: list[InitErrorDetails] = []
        spans = [
            (start, end, index)
            for index, slot in enumerate(self.recurring)
            for start, end in _week_spans(slot)
        ]
        clashes = _sweep(spans)
        for index, other in clashes[:MAX_OVERLAPS_REPORTED]:
            slot = self.recurring[index]
            clash = _first_clash(_week_spans(self.recurring[other]), _week_spans(slot))
            where = ""
            if clash is not None:
                day = list(Weekday)[(clash // _DAY_S) % 7]
                at = time(hour=(clash % _DAY_S) // 3600, minute=(clash % 3600) // 60)
                where = f" on {day} at {at.strftime('%H:%M')}"
            problems.append(
                _error(
                    ("recurring", index, "start"),
                    slot.start.isoformat(),
                    "slot_overlap",
                    f"{_name(slot, 'recurring', index)} overlaps "
                    f"{_name(self.recurring[other], 'recurring', other)}{where}",
                )
            )
        problems.extend(_more_overlaps("recurring", len(clashes)))
        return problems

    def validate_against(self, max_charge_w: int | None, max_discharge_w: int | None) -> Schedule:
        """Re-validate with a device maximum; raises :class:`~pydantic.ValidationError` naming slot, field."""
        return type(self).model_validate(
            self.model_dump(mode="json", exclude_unset=True),
            context=device_limits_context(max_charge_w, max_discharge_w),
        )

    # -- resolution ----------------------------------------------------------------------------------

    @property
    def tz(self) -> tzinfo:
        """The schedule's timezone."""
        return self._tz

    @property
    def dated_utc(self) -> tuple[tuple[datetime, datetime], ...]:
        """The UTC ``(start, end)`` of each dated slot, in the order of :attr:`dated`."""
        return self._dated_utc

    def _to_utc(self, value: datetime) -> datetime:
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return _wall_to_utc(value, self._tz)

    def _occurrence(self, slot: RecurringSlot, day: date) -> tuple[datetime, datetime]:
        start_wall = datetime.combine(day, slot.start)
        end_wall = start_wall + timedelta(seconds=slot.duration_s())
        return _wall_to_utc(start_wall, self._tz), _wall_to_utc(end_wall, self._tz)

    def _active(self, key: str, slot: SlotAction, start: datetime | None, end: datetime | None) -> ActiveSlot:
        return ActiveSlot(
            key=key,
            slot_id=slot.id,
            mode=slot.mode,
            power_w=slot.power_w,
            max_w=slot.max_w,
            target_offset_w=slot.target_offset_w,
            start=start,
            end=end,
        )

    def slot_at(self, at: datetime) -> ActiveSlot:
        """The slot in force at the aware instant ``at``."""
        if at.tzinfo is None:
            raise ValueError("slot_at needs an aware datetime")
        at = at.astimezone(UTC)
        for index, (start, end) in enumerate(self._dated_utc):
            if start <= at < end:
                return self._active(f"dated[{index}]", self.dated[index], start, end)
        today = at.astimezone(self._tz).date()
        for day in (today - timedelta(days=1), today):
            for index, slot in enumerate(self.recurring):
                if slot.starts_on(day):
                    start, end = self._occurrence(slot, day)
                    if start <= at < end:
                        return self._active(f"recurring[{index}]", slot, start, end)
        return self._active("default", self.default, None, None)

    def next_change_after(self, at: datetime) -> datetime | None:
        """The first instant after ``at`` at which a different slot is in force; ``None`` if never."""
        if at.tzinfo is None:
            raise ValueError("next_change_after needs an aware datetime")
        at = at.astimezone(UTC)
        current = self.slot_at(at).key
        for candidate in self._boundaries_after(at):
            if self.slot_at(candidate).key != current:
                return candidate
        return None

    def _boundaries_after(self, at: datetime) -> list[datetime]:
        found: set[datetime] = set()
        for start, end in self._dated_utc:
            found.update(point for point in (start, end) if point > at)
        first_day = at.astimezone(self._tz).date() - timedelta(days=1)
        last = at + _HORIZON
        for offset in range(_HORIZON.days + 2):
            day = first_day + timedelta(days=offset)
            for slot in self.recurring:
                if slot.starts_on(day):
                    found.update(point for point in self._occurrence(slot, day) if at < point <= last)
        return sorted(found)


def _seconds(value: time) -> int:
    return value.hour * 3600 + value.minute * 60 + value.second


def _name(slot: SlotAction, kind: str, index: int) -> str:
    return f"{kind} slot {index}" + (f" ('{slot.id}')" if slot.id else "")


def _error(loc: tuple[str | int, ...], value: Any, kind: str, message: str) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, message), loc=loc, input=value)


def _week_spans(slot: RecurringSlot) -> list[tuple[int, int]]:
    """Wall-clock seconds-of-week intervals ``[start, end)`` of a recurring slot (split at the week wrap)."""
    spans: list[tuple[int, int]] = []
    length = slot.duration_s()
    for day in slot.days:
        start = _WEEKDAY_INDEX[day] * _DAY_S + _seconds(slot.start)
        end = start + length
        if end <= _WEEK_S:
            spans.append((start, end))
        else:
            spans.extend([(start, _WEEK_S), (0, end - _WEEK_S)])
    return spans


def _sweep(spans: Sequence[tuple[_Point, _Point, int]]) -> list[tuple[int, int]]:
    """Overlapping pairs ``(later index, earlier index)`` of ``[start, end)`` spans tagged with a slot index.

    Sorted by start, each span is checked against the one reaching furthest so far: O(n log n), one pair
    per overlapping span (spans of the same slot never count against each other).
    """
    clashes: list[tuple[int, int]] = []
    seen: set[tuple[int, int]] = set()
    reach: tuple[_Point, int] | None = None  # (furthest end, its slot)
    for start, end, index in sorted(spans, key=lambda span: (span[0], span[2])):
        if reach is not None and start < reach[0] and reach[1] != index:
            pair = (max(index, reach[1]), min(index, reach[1]))
            if pair not in seen:
                seen.add(pair)
                clashes.append(pair)
        if reach is None or end > reach[0]:
            reach = (end, index)
    clashes.sort()
    return clashes


def _more_overlaps(kind: str, count: int) -> list[InitErrorDetails]:
    """One summary problem when more overlaps were found than are reported one by one."""
    if count <= MAX_OVERLAPS_REPORTED:
        return []
    return [
        _error(
            (kind,),
            count,
            "slot_overlap",
            f"{count} {kind} slots overlap another; the first {MAX_OVERLAPS_REPORTED} are listed",
        )
    ]


def _first_clash(first: list[tuple[int, int]], second: list[tuple[int, int]]) -> int | None:
    clashes = [max(s1, s2) for s1, e1 in first for s2, e2 in second if s1 < e2 and s2 < e1]
    return min(clashes) if clashes else None


def _wall_to_utc(wall: datetime, zone: tzinfo) -> datetime:
    """The first instant at which the local clock in ``zone`` shows ``wall`` (naive) or later."""
    guess = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if guess.astimezone(zone).replace(tzinfo=None) == wall:
        return guess  # exists; fold=0 is the first of two occurrences
    # The clock skips ``wall`` (spring forward): find the transition between the two readings of it.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = guess
    if low > high:
        low, high = high, low
    while (high - low) > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def schedule_json_schema() -> dict[str, Any]:
    """The published JSON Schema (draft 2020-12) of :class:`Schedule`."""
    schema = Schedule.model_json_schema()
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def write_schema(path: Path = SCHEMA_PATH) -> Path:
    """Write the JSON Schema file (sorted keys, two-space indent, final newline)."""
    path.write_text(json.dumps(schedule_json_schema(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


#: The schedule the server-I/O worker validated last, with the document it came from (see below).
if __name__ == "__main__":  # pragma: no cover - tool entry point
    written = write_schema(Path(sys.argv[1]) if len(sys.argv) > 1 else SCHEMA_PATH)
    sys.stdout.write(f"wrote {written}\n")
