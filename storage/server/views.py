"""HTML of the schedule editor: week view, dated list, slot forms with messages next to each field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from storage.server.local_times import display_datetime, display_time, zone_of
from storage.server.render import e

__all__ = ["DAYS", "MODES", "editor_body", "slot_form"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"), strict=True))
MODES = ("standby", "charge", "discharge", "netzero", "netzero_plus")
MODE_NAMES = {
    "standby": "Standby",
    "charge": "Charge",
    "discharge": "Discharge",
    "netzero": "NetZero",
    "netzero_plus": "NetZero+",
}


def describe(slot: Mapping[str, Any]) -> str:
    """Mode and parameters in words, e.g. ``NetZero ≤ 600 W``."""
    mode = str(slot.get("mode", "?"))
    text = MODE_NAMES.get(mode, mode)
    if slot.get("power_w") is not None:
        text += f" {slot['power_w']} W"
    if slot.get("max_w") is not None:
        text += f" ≤ {slot['max_w']} W"
    if slot.get("target_offset_w") not in (None, 0, 0.0):
        text += f" (offset {slot['target_offset_w']} W)"
    return text


def _seconds_step(value: str) -> str:
    """Let the input show and keep seconds when the stored time has them."""
    return ' step="1"' if value.count(":") == 2 else ""


def _readable(value: str) -> str:
    return value.replace("T", " ")


def _wall_in(value: Any, zone: ZoneInfo) -> str:
    return display_datetime(value, zone).partition("T")[2] if value else ""


def pickup_note(info: Mapping[str, Any]) -> str:
    """When the daemon will see an edit: its last fetch plus its check interval, in the schedule's zone."""
    zone = ZoneInfo(str(info["timezone"]))
    interval = f"{info['check_interval_s']:g} s"
    if not info.get("last_fetch_at"):
        text = (
            f"The daemon has not fetched the schedule since the server started; it checks every {interval}."
        )
    else:
        last = _wall_in(info["last_fetch_at"], zone)
        nxt = _wall_in(info["next_check_at"], zone)
        text = f"The daemon last fetched the schedule at {last} and checks every {interval}: "
        if info.get("overdue"):
            text += f"it is overdue (expected by {nxt}); is it running?"
        elif info.get("has_current"):
            text += "it has this version."
        else:
            text += f"it will pick up this version by {nxt}."
    return f'<p class="pickup" id="pickup" role="status">{e(text)}</p>'


def _messages(messages: list[str]) -> str:
    if not messages:
        return ""
    items = "".join(f"<li>{e(m)}</li>" for m in messages)
    return f'<ul class="errors" role="alert">{items}</ul>'


def _field_error(errors: Mapping[str, str], name: str) -> str:
    message = errors.get(name)
    return f'<span class="field-error" id="err-{e(name)}" role="alert">{e(message)}</span>' if message else ""


def _input(
    label: str, name: str, value: Any, errors: Mapping[str, str], kind: str = "text", extra: str = ""
) -> str:
    invalid = ' aria-invalid="true"' if name in errors else ""
    return (
        f'<label class="field">{e(label)} '
        f'<input name="{e(name)}" type="{kind}" value="{e(value)}"{invalid}{extra}>'
        f"{_field_error(errors, name)}</label>"
    )


def mode_fields(values: Mapping[str, Any], errors: Mapping[str, str]) -> str:
    """Mode select and its parameters."""
    current = str(values.get("mode") or "netzero")
    options = "".join(
        f'<option value="{m}"{" selected" if m == current else ""}>{MODE_NAMES[m]}</option>' for m in MODES
    )
    invalid = ' aria-invalid="true"' if "mode" in errors else ""
    return (
        f'<label class="field">Mode <select name="mode"{invalid}>{options}</select>'
        f"{_field_error(errors, 'mode')}"
        "</label>"
        + _input(
            "Power (W, charge/discharge)", "power_w", values.get("power_w"), errors, "number", ' min="1"'
        )
        + _input("Max (W, NetZero modes)", "max_w", values.get("max_w"), errors, "number", ' min="1"')
        + _input(
            "Target offset (W)",
            "target_offset_w",
            values.get("target_offset_w"),
            errors,
            "number",
            ' step="any"',
        )
    )


def slot_form(
    *,
    action: str,
    kind: str,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
    messages: list[str],
    csrf: str,
    etag: str,
    submit: str,
    zone: ZoneInfo,
) -> str:
    """The add / edit form of a recurring or dated slot; times in the schedule's zone ``zone``."""
    parts = [
        f'<form method="post" action="{e(action)}" class="stack slot-form" data-kind="{e(kind)}" novalidate>',
        _messages(messages),
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">',
        f'<input type="hidden" name="etag" value="{e(etag)}">',
        _input("Name (optional)", "id", values.get("id"), errors, "text", ' maxlength="64"'),
    ]
    if kind == "recurring":
        chosen = set(values.get("days") or ())
        boxes = "".join(
            f'<label class="day"><input type="checkbox" name="days" value="{d}"'
            f"{' checked' if d in chosen else ''}> {DAY_NAMES[d]}</label>"
            for d in DAYS
        )
        parts.append(
            f'<fieldset class="field days"><legend>Days</legend>{boxes}{_field_error(errors, "days")}'
            "</fieldset>"
        )
        for name in ("start", "end"):
            shown = display_time(values.get(name))
            label = f"{name.capitalize()} ({zone.key})"
            parts.append(_input(label, name, shown, errors, "time", _seconds_step(shown)))
    else:
        for name in ("start", "end"):
            shown = display_datetime(values.get(name), zone)
            label = f"{name.capitalize()} ({zone.key})"
            parts.append(_input(label, name, shown, errors, "datetime-local", _seconds_step(shown)))
    parts.append(mode_fields(values, errors))
    parts.append(f'<button type="submit">{e(submit)}</button></form>')
    return "".join(parts)


def _hidden(csrf: str, etag: str) -> str:
    return (
        f'<input type="hidden" name="csrf_token" value="{e(csrf)}">'
        f'<input type="hidden" name="etag" value="{e(etag)}">'
    )


def _delete_button(site: str, kind: str, index: int, csrf: str, etag: str) -> str:
    return (
        f'<form method="post" action="/sites/{e(site)}/schedule/{kind}/{index}/delete" class="inline">'
        f"{_hidden(csrf, etag)}"
        f'<button type="submit" class="link danger">delete</button></form>'
    )


def week_view(site: str, schedule: Mapping[str, Any], editable: bool, csrf: str, etag: str) -> str:
    """A table with one column per weekday listing the recurring slots that start that day."""
    columns: dict[str, list[str]] = {d: [] for d in DAYS}
    indexed = list(enumerate(schedule.get("recurring") or []))
    indexed.sort(key=lambda item: str(item[1].get("start", "")))
    for index, slot in indexed:
        for day in slot.get("days") or ():
            if day not in columns:
                continue
            actions = ""
            if editable:
                actions = f' <a href="/sites/{e(site)}/schedule/recurring/{index}">edit</a>' + _delete_button(
                    site, "recurring", index, csrf, etag
                )
            name = f'<span class="slot-id">{e(slot.get("id"))}</span> ' if slot.get("id") else ""
            columns[day].append(
                f'<div class="slot mode-{e(slot.get("mode"))}" data-index="{index}">'
                f"<b>{e(display_time(slot.get('start')))}–{e(display_time(slot.get('end')))}</b> {name}"
                f"{e(describe(slot))}{actions}</div>"
            )
    head = "".join(f"<th>{DAY_NAMES[d]}</th>" for d in DAYS)
    cells = "".join(
        f'<td data-day="{DAY_NAMES[d]}">{"".join(columns[d]) or "<span class=hint>–</span>"}</td>'
        for d in DAYS
    )
    return f'<table class="week"><thead><tr>{head}</tr></thead><tbody><tr>{cells}</tr></tbody></table>'


def dated_list(site: str, schedule: Mapping[str, Any], editable: bool, csrf: str, etag: str) -> str:
    """The dated (one-off) slots as a list."""
    rows = []
    zone = zone_of(schedule)
    for index, slot in enumerate(schedule.get("dated") or []):
        actions = ""
        if editable:
            actions = f'<a href="/sites/{e(site)}/schedule/dated/{index}">edit</a> ' + _delete_button(
                site, "dated", index, csrf, etag
            )
        rows.append(
            f'<li class="slot mode-{e(slot.get("mode"))}">'
            f"<b>{e(_readable(display_datetime(slot.get('start'), zone)))} → "
            f"{e(_readable(display_datetime(slot.get('end'), zone)))}</b> "
            f"{e(slot.get('id') or '')} {e(describe(slot))} {actions}</li>"
        )
    if not rows:
        return '<p class="hint">No dated slots.</p>'
    return f'<ul class="dated">{"".join(rows)}</ul>'


def editor_body(
    *,
    site: str,
    schedule: Mapping[str, Any],
    version: int,
    etag: str,
    editable: bool,
    csrf: str,
    flash: str,
    forms: Mapping[str, str],
    pickup: str = "",
) -> str:
    """The whole editor page body (``pickup``: when the daemon will see an edit, as HTML)."""
    default = schedule.get("default") or {"mode": "standby"}
    notice = f'<p class="flash" role="status">{e(flash)}</p>' if flash else ""
    parts = [
        notice,
        f'<section class="card"><h1>Schedule of {e(site)}</h1>'
        f'<p class="meta">Version {version} · all times in <b class="zone">{e(zone_of(schedule).key)}</b> · '
        f"outside slots: {e(describe(default))}</p>",
        pickup,
        "<h2>Every week</h2>",
        week_view(site, schedule, editable, csrf, etag),
        "<h2>Dated slots</h2>",
        dated_list(site, schedule, editable, csrf, etag),
        "</section>",
    ]
    if editable:
        parts.append(
            f'<section class="card" id="add-recurring"><h2>Add a weekly slot</h2>{forms["recurring"]}'
            "</section>"
        )
        parts.append(
            f'<section class="card" id="add-dated"><h2>Add a dated slot</h2>{forms["dated"]}</section>'
        )
        parts.append(
            f'<section class="card" id="default-mode"><h2>Outside slots</h2>{forms["default"]}</section>'
        )
    return "".join(parts)


def default_form(
    site: str,
    schedule: Mapping[str, Any],
    values: Mapping[str, Any] | None,
    errors: Mapping[str, str],
    messages: list[str],
    csrf: str,
    etag: str,
) -> str:
    """Form for the schedule's timezone and default mode."""
    current = (
        values
        if values is not None
        else {**(schedule.get("default") or {}), "timezone": schedule.get("timezone")}
    )
    return (
        f'<form method="post" action="/sites/{e(site)}/schedule/default" class="stack" novalidate>'
        + _messages(messages)
        + _hidden(csrf, etag)
        + _input("Timezone (IANA)", "timezone", current.get("timezone"), errors)
        + mode_fields(current, errors)
        + '<button type="submit">Save</button></form>'
    )
