"""The web page: login, dashboard (status, charts, audit) and the schedule editor (plain HTML forms)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from storage.server import views
from storage.server.auth import SESSION_COOKIE, check_csrf, context_of, current_principal
from storage.server.errors import Forbidden, InvalidSchedule, PreconditionFailed, RateLimited, Unauthorized
from storage.server.local_times import keep_unedited, zone_of
from storage.server.pickup import schedule_pickup
from storage.server.render import e, render, render_page
from storage.server.schedule_model import validate_schedule
from storage.server.services import schedules
from storage.server.services.sites import SiteRef, get_site
from storage.server.services.status import device_limits
from storage.server.services.users import Principal, create_session, delete_session, login

__all__ = ["mount_static", "router"]

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parent.parent / "static"
SiteName = Annotated[str, PathParam(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]
Kind = Annotated[str, PathParam(pattern=r"^(recurring|dated)$")]
Index = Annotated[int, PathParam(ge=0, le=10_000)]
FLASH = {
    "saved": "Saved.",
    "deleted": "Deleted.",
    "conflict": "Someone else changed the schedule meanwhile. It has been reloaded: "
    "please make your change again.",
}
SLOT_FIELDS = ("id", "days", "start", "end", "mode", "power_w", "max_w", "target_offset_w", "timezone")


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"


def mount_static(app: FastAPI) -> None:
    """Serve our own assets and plotly.js from the installed ``plotly`` package (no CDN)."""

    @app.get("/static/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> FileResponse:
        return FileResponse(_plotly_js(), media_type="text/javascript")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def _nav(site: str | None) -> str:
    if not site:
        return ""
    return (
        f'<a href="/sites/{e(site)}">Dashboard</a> <a href="/sites/{e(site)}/timeline">Timeline</a> '
        f'<a href="/sites/{e(site)}/schedule">Schedule</a>'
    )


def _page(
    principal: Principal | None, title: str, body: str, site: str | None = None, status: int = 200
) -> Response:
    html = render_page(
        title,
        body,
        user=principal.username if principal else None,
        csrf=principal.csrf_token if principal else "",
        nav=_nav(site),
    )
    return HTMLResponse(html, status_code=status)


def _to_login(request: Request) -> Response:
    return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)


def _safe_next(value: str) -> str:
    return value if re.fullmatch(r"/[A-Za-z0-9/_-]*", value or "") else "/"


async def _form(request: Request) -> dict[str, list[str]]:
    body = (await request.body()).decode("utf-8", errors="replace")
    return parse_qs(body, keep_blank_values=True)


def _one(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name) or [""]
    return values[0].strip()


def _secure(request: Request) -> bool:
    mode = context_of(request).config.secure_cookies
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


# -- login ---------------------------------------------------------------------------------------------


def _login_page(message: str = "", username: str = "", next_path: str = "/", status: int = 200) -> Response:
    note = f'<p class="errors" role="alert">{e(message)}</p>' if message else ""
    body = render("login.html", message=note, username=e(username), next=e(next_path))
    return _page(None, "Log in", body, status=status)


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:  # noqa: A002 - the query parameter's name
    return _login_page(next_path=_safe_next(next))


@router.post("/login")
async def login_submit(request: Request) -> Response:
    form = await _form(request)
    username, password = _one(form, "username"), (form.get("password") or [""])[0]
    next_path = _safe_next(_one(form, "next"))
    context = context_of(request)
    client = request.client.host if request.client else "unknown"
    try:
        user_id = login(context.engine, username, password, client, context.clock.now(), context.config)
    except RateLimited as err:
        page = _login_page(err.detail, username, next_path, status=429)
        page.headers["Retry-After"] = str(max(1, round(err.retry_after_s + 0.5)))
        return page
    except Unauthorized as err:
        return _login_page(err.detail, username, next_path, status=401)
    token = create_session(context.engine, user_id, context.clock.now(), context.config)
    reply = RedirectResponse(next_path, status_code=303)
    reply.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=context.config.session_ttl_s,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    return reply


@router.post("/logout")
async def logout(request: Request) -> Response:
    principal = current_principal(request)
    if principal is not None:
        form = await _form(request)
        check_csrf(principal, _one(form, "csrf_token"))
        delete_session(context_of(request).engine, request.cookies.get(SESSION_COOKIE, ""))
    reply = RedirectResponse("/login", status_code=303)
    reply.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request))
    return reply


# -- pages ---------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    principal = current_principal(request)
    if principal is None:
        return _to_login(request)
    sites = sorted(principal.roles)
    if len(sites) == 1:
        return RedirectResponse(f"/sites/{sites[0]}", status_code=303)
    items = "".join(f'<li><a href="/sites/{e(s)}">{e(s)}</a> ({e(principal.roles[s])})</li>' for s in sites)
    body = f'<section class="card"><h1>Sites</h1><ul>{items or "<li>No sites yet.</li>"}</ul></section>'
    return _page(principal, "Sites", body)


def _site_for(request: Request, site: str) -> tuple[Principal | None, SiteRef | None, str | None]:
    principal = current_principal(request)
    if principal is None:
        return None, None, None
    role = principal.role_on(site)
    if role is None:
        raise Forbidden("you have no role on this site")
    return principal, get_site(context_of(request).engine, site), role


@router.get("/sites/{site}")
def dashboard(request: Request, site: SiteName) -> Response:
    principal, ref, _role = _site_for(request, site)
    if principal is None or ref is None:
        return _to_login(request)
    zone = zone_of(schedules.current_schedule(context_of(request).engine, ref).body)
    return _page(principal, site, render("dashboard.html", site=e(site), timezone=e(zone.key)), site)


@router.get("/sites/{site}/timeline")
def timeline(request: Request, site: SiteName) -> Response:
    principal, ref, role = _site_for(request, site)
    if principal is None or ref is None:
        return _to_login(request)
    zone = zone_of(schedules.current_schedule(context_of(request).engine, ref).body)
    body = render(
        "timeline.html", site=e(site), timezone=e(zone.key), editable="1" if role == "editor" else ""
    )
    return _page(principal, f"Timeline · {site}", body, site)


# -- schedule editor -------------------------------------------------------------------------------------


def _editor(
    request: Request,
    principal: Principal,
    site: SiteRef,
    role: str,
    *,
    flash: str = "",
    forms: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    doc = schedules.current_schedule(context_of(request).engine, site)
    editable = role == "editor"
    csrf = principal.csrf_token
    blank_forms = {
        "recurring": views.slot_form(
            action=f"/sites/{site.name}/schedule/recurring/new",
            kind="recurring",
            values={},
            errors={},
            messages=[],
            csrf=csrf,
            etag=doc.etag,
            submit="Add weekly slot",
            zone=zone_of(doc.body),
        ),
        "dated": views.slot_form(
            action=f"/sites/{site.name}/schedule/dated/new",
            kind="dated",
            values={},
            errors={},
            messages=[],
            csrf=csrf,
            etag=doc.etag,
            submit="Add dated slot",
            zone=zone_of(doc.body),
        ),
        "default": views.default_form(site.name, doc.body, None, {}, [], csrf, doc.etag),
    }
    blank_forms.update(forms or {})
    body = views.editor_body(
        site=site.name,
        schedule=doc.body,
        version=doc.version,
        etag=doc.etag,
        editable=editable,
        csrf=csrf,
        flash=flash,
        forms=blank_forms,
        pickup=views.pickup_note(schedule_pickup(context_of(request), site, doc)),
    )
    return _page(principal, f"Schedule · {site.name}", body, site.name, status=status)


@router.get("/sites/{site}/schedule")
def schedule_editor(request: Request, site: SiteName, msg: str = "") -> Response:
    principal, ref, role = _site_for(request, site)
    if principal is None or ref is None or role is None:
        return _to_login(request)
    return _editor(request, principal, ref, role, flash=FLASH.get(msg, ""))


@router.get("/sites/{site}/schedule/{kind}/{index}")
def slot_edit_form(request: Request, site: SiteName, kind: Kind, index: Index) -> Response:
    principal, ref, role = _site_for(request, site)
    if principal is None or ref is None or role is None:
        return _to_login(request)
    if role != "editor":
        raise Forbidden("you may view this site but not change it (viewer role)")
    doc = schedules.current_schedule(context_of(request).engine, ref)
    slots = list(doc.body.get(kind) or [])
    if index >= len(slots):
        return RedirectResponse(f"/sites/{site}/schedule?msg=conflict", status_code=303)
    form = views.slot_form(
        action=f"/sites/{site}/schedule/{kind}/{index}",
        kind=kind,
        values=slots[index],
        errors={},
        messages=[],
        csrf=principal.csrf_token,
        etag=doc.etag,
        submit="Save slot",
        zone=zone_of(doc.body),
    )
    body = f'<section class="card"><h1>Edit {e(kind)} slot {index + 1}</h1>{form}</section>'
    return _page(principal, "Edit slot", body, site)


def _number(text: str, integer: bool) -> Any:
    if integer and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if not integer and re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", text):
        return float(text)
    return text  # let the model say what is wrong with it


def _action_from_form(form: dict[str, list[str]]) -> dict[str, Any]:
    action: dict[str, Any] = {"mode": _one(form, "mode")}
    for name, integer in (("power_w", True), ("max_w", True), ("target_offset_w", False)):
        text = _one(form, name)
        if text:
            action[name] = _number(text, integer)
    return action


def _slot_from_form(kind: str, form: dict[str, list[str]]) -> dict[str, Any]:
    slot: dict[str, Any] = {}
    if _one(form, "id"):
        slot["id"] = _one(form, "id")
    if kind == "recurring":
        slot["days"] = [d for d in form.get("days", []) if d]
    slot["start"] = _one(form, "start")
    slot["end"] = _one(form, "end")
    slot.update(_action_from_form(form))
    return slot


def _split_errors(
    errors: list[dict[str, Any]], slot: str | None, prefix: str = ""
) -> tuple[dict[str, str], list[str]]:
    """Errors of ``slot`` by field (next to the inputs), and everything else as messages."""
    by_field: dict[str, str] = {}
    others: list[str] = []
    for item in errors:
        field = item.get("field") or ""
        if prefix and item.get("slot") is None and field.startswith(prefix):
            field = field.removeprefix(prefix)
            target = slot
        else:
            target = item.get("slot")
        name = field.split(".")[0] if field else ""
        if target == slot and name in SLOT_FIELDS and name not in by_field:
            by_field[name] = item["msg"]
        else:
            where = " ".join(p for p in (item.get("slot") or "", item.get("field") or "") if p)
            others.append(f"{where}: {item['msg']}" if where else item["msg"])
    return by_field, others


Form = dict[str, list[str]]
Build = Callable[[dict[str, Any], Form], tuple[dict[str, Any], str]]
OnErrors = Callable[[Principal, SiteRef, str, schedules.ScheduleDoc, Form, list[dict[str, Any]]], Response]


async def _write(request: Request, site: str, build: Build, form_for_errors: OnErrors) -> Response:
    """Common path of every editor write: auth, CSRF, stale check, validate, save, redirect."""
    principal, ref, role = _site_for(request, site)
    if principal is None or ref is None or role is None:
        return _to_login(request)
    if role != "editor":
        raise Forbidden("you may view this site but not change it (viewer role)")
    form = await _form(request)
    check_csrf(principal, _one(form, "csrf_token"))
    context = context_of(request)
    doc = schedules.current_schedule(context.engine, ref)
    if _one(form, "etag") != doc.etag:
        return RedirectResponse(f"/sites/{site}/schedule?msg=conflict", status_code=303)
    body = {k: (list(v) if isinstance(v, list | tuple) else v) for k, v in doc.body.items()}
    try:
        new_body, flash = build(body, form)
    except IndexError:
        return RedirectResponse(f"/sites/{site}/schedule?msg=conflict", status_code=303)
    try:
        normalised = validate_schedule(new_body, device_limits(context.engine, ref))
        context.schedule_cache.discard(ref.id)
        schedules.put_schedule(
            context.engine, ref, normalised, doc.etag, f"user:{principal.username}", context.clock.now()
        )
        context.schedule_cache.discard(ref.id)
    except InvalidSchedule as err:
        return form_for_errors(principal, ref, role, doc, form, err.errors)
    except PreconditionFailed:
        return RedirectResponse(f"/sites/{site}/schedule?msg=conflict", status_code=303)
    return RedirectResponse(f"/sites/{site}/schedule?msg={flash}", status_code=303)


@router.post("/sites/{site}/schedule/{kind}/new")
async def slot_add(request: Request, site: SiteName, kind: Kind) -> Response:
    def build(body: dict[str, Any], form: dict[str, list[str]]) -> tuple[dict[str, Any], str]:
        body[kind] = [*body.get(kind, []), _slot_from_form(kind, form)]
        return body, "saved"

    def on_errors(
        principal: Principal, ref: SiteRef, role: str, doc: Any, form: Any, errors: Any
    ) -> Response:
        index = len(doc.body.get(kind) or [])
        by_field, others = _split_errors(errors, f"{kind}[{index}]")
        html = views.slot_form(
            action=f"/sites/{site}/schedule/{kind}/new",
            kind=kind,
            values=_slot_from_form(kind, form),
            errors=by_field,
            messages=others,
            csrf=principal.csrf_token,
            etag=doc.etag,
            submit="Add weekly slot" if kind == "recurring" else "Add dated slot",
            zone=zone_of(doc.body),
        )
        return _editor(request, principal, ref, role, forms={kind: html}, status=422)

    return await _write(request, site, build, on_errors)


@router.post("/sites/{site}/schedule/{kind}/{index}")
async def slot_save(request: Request, site: SiteName, kind: Kind, index: Index) -> Response:
    def build(body: dict[str, Any], form: dict[str, list[str]]) -> tuple[dict[str, Any], str]:
        slots = list(body.get(kind, []))
        slots[index] = keep_unedited(kind, slots[index], _slot_from_form(kind, form), zone_of(body))
        body[kind] = slots
        return body, "saved"

    def on_errors(
        principal: Principal, ref: SiteRef, role: str, doc: Any, form: Any, errors: Any
    ) -> Response:
        by_field, others = _split_errors(errors, f"{kind}[{index}]")
        html = views.slot_form(
            action=f"/sites/{site}/schedule/{kind}/{index}",
            kind=kind,
            values=_slot_from_form(kind, form),
            errors=by_field,
            messages=others,
            csrf=principal.csrf_token,
            etag=doc.etag,
            submit="Save slot",
            zone=zone_of(doc.body),
        )
        body = f'<section class="card"><h1>Edit {e(kind)} slot {index + 1}</h1>{html}</section>'
        return _page(principal, "Edit slot", body, site, status=422)

    return await _write(request, site, build, on_errors)


@router.post("/sites/{site}/schedule/{kind}/{index}/delete")
async def slot_delete(request: Request, site: SiteName, kind: Kind, index: Index) -> Response:
    def build(body: dict[str, Any], form: dict[str, list[str]]) -> tuple[dict[str, Any], str]:
        slots = list(body.get(kind, []))
        del slots[index]
        body[kind] = slots
        return body, "deleted"

    def on_errors(
        principal: Principal, ref: SiteRef, role: str, doc: Any, form: Any, errors: Any
    ) -> Response:
        messages = [f"{i.get('slot') or ''} {i.get('field') or ''}: {i['msg']}" for i in errors]
        return _editor(request, principal, ref, role, flash="; ".join(messages), status=422)

    return await _write(request, site, build, on_errors)


@router.post("/sites/{site}/schedule/default")
async def default_save(request: Request, site: SiteName) -> Response:
    def build(body: dict[str, Any], form: dict[str, list[str]]) -> tuple[dict[str, Any], str]:
        body["default"] = _action_from_form(form)
        body["timezone"] = _one(form, "timezone")
        return body, "saved"

    def on_errors(
        principal: Principal, ref: SiteRef, role: str, doc: Any, form: Any, errors: Any
    ) -> Response:
        by_field, others = _split_errors(errors, None, prefix="default.")
        for item in errors:
            if item.get("field") == "timezone":
                by_field["timezone"] = item["msg"]
        others = [m for m in others if not m.startswith("timezone:")]
        values = {**_action_from_form(form), "timezone": _one(form, "timezone")}
        html = views.default_form(site, doc.body, values, by_field, others, principal.csrf_token, doc.etag)
        return _editor(request, principal, ref, role, forms={"default": html}, status=422)

    return await _write(request, site, build, on_errors)
