"""The schedule editor's plain forms: add, edit, delete, validation next to the field, CSRF, roles, 412."""

from __future__ import annotations

import re

from tests.server.conftest import Server


def _etag(server: Server) -> str:
    page = server.client.get("/sites/home/schedule")
    match = re.search(r'name="etag" value="([^"]+)"', page.text)
    assert match, page.text
    return match.group(1).replace("&quot;", '"')


def _slot(csrf: str, etag: str, **fields: object) -> dict[str, object]:
    form: dict[str, object] = {
        "csrf_token": csrf,
        "etag": etag,
        "start": "17:00",
        "end": "23:00",
        "mode": "netzero",
    }
    form.update(fields)
    return form


def _schedule(server: Server) -> dict[str, object]:
    reply = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer())
    body: dict[str, object] = reply.json()
    return body


def test_add_edit_delete_a_weekly_slot(server: Server) -> None:
    csrf = server.login("alice")
    form = _slot(csrf, _etag(server), days=["mon", "fri"], max_w="600", id="evening")
    added = server.client.post("/sites/home/schedule/recurring/new", data=form, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"].endswith("msg=saved")
    slots = _schedule(server)["recurring"]
    assert isinstance(slots, list) and slots[0]["days"] == ["mon", "fri"] and slots[0]["max_w"] == 600

    edit_page = server.client.get("/sites/home/schedule/recurring/0")
    assert 'value="600"' in edit_page.text
    form = _slot(
        csrf, _etag(server), days=["sat"], mode="discharge", power_w="400", start="18:00", end="20:00"
    )
    saved = server.client.post("/sites/home/schedule/recurring/0", data=form, follow_redirects=False)
    assert saved.status_code == 303
    slots = _schedule(server)["recurring"]
    assert isinstance(slots, list) and slots[0]["mode"] == "discharge" and slots[0]["power_w"] == 400

    deleted = server.client.post(
        "/sites/home/schedule/recurring/0/delete", data={"csrf_token": csrf, "etag": _etag(server)}
    )
    assert deleted.status_code == 200 and "Deleted." in deleted.text
    assert _schedule(server)["recurring"] == []


def test_dated_slot_and_default_mode(server: Server) -> None:
    csrf = server.login("alice")
    form = _slot(csrf, _etag(server), start="2026-12-24T00:00", end="2026-12-27T00:00", mode="standby")
    assert server.client.post("/sites/home/schedule/dated/new", data=form).status_code == 200
    dated = _schedule(server)["dated"]
    assert isinstance(dated, list) and len(dated) == 1
    default = {
        "csrf_token": csrf,
        "etag": _etag(server),
        "timezone": "Europe/Amsterdam",
        "mode": "netzero_plus",
    }
    assert server.client.post("/sites/home/schedule/default", data=default).status_code == 200
    schedule = _schedule(server)
    assert isinstance(schedule["default"], dict) and schedule["default"]["mode"] == "netzero_plus"
    bad_zone = {**default, "etag": _etag(server), "timezone": "Mars/Olympus"}
    reply = server.client.post("/sites/home/schedule/default", data=bad_zone)
    assert reply.status_code == 422
    assert 'id="err-timezone"' in reply.text


def test_validation_message_sits_next_to_the_field(server: Server) -> None:
    csrf = server.login("alice")
    form = _slot(csrf, _etag(server), days=["mon"], mode="charge")  # charge needs power_w
    reply = server.client.post("/sites/home/schedule/recurring/new", data=form)
    assert reply.status_code == 422
    match = re.search(
        r'name="power_w"[^>]*aria-invalid="true"[^>]*><span class="field-error" id="err-power_w"', reply.text
    )
    assert match, reply.text
    no_days = _slot(csrf, _etag(server), days=[])
    reply = server.client.post("/sites/home/schedule/recurring/new", data=no_days)
    assert reply.status_code == 422 and 'id="err-days"' in reply.text
    assert _schedule(server)["recurring"] == []


def test_stale_form_reloads_with_a_message(server: Server) -> None:
    csrf = server.login("alice")
    stale = _etag(server)
    api = "/api/v1/sites/home/schedule"
    server.client.put(
        api, json={"default": {"mode": "netzero"}}, headers={**server.bearer(), "If-Match": stale}
    )
    reply = server.client.post("/sites/home/schedule/recurring/new", data=_slot(csrf, stale, days=["mon"]))
    assert reply.status_code == 200
    assert "Someone else changed the schedule meanwhile" in reply.text
    assert _schedule(server)["recurring"] == []


def test_forms_need_csrf_and_the_editor_role(server: Server) -> None:
    csrf = server.login("alice")
    form = _slot("wrong", _etag(server), days=["mon"])
    assert server.client.post("/sites/home/schedule/recurring/new", data=form).status_code == 403
    server.client.cookies.clear()
    viewer_csrf = server.login("bob")
    page = server.client.get("/sites/home/schedule")
    assert page.status_code == 200 and "Add a weekly slot" not in page.text  # read-only for viewers
    etag = server.client.get("/api/v1/sites/home/schedule").headers["etag"]
    form = _slot(viewer_csrf, etag, days=["mon"])
    assert server.client.post("/sites/home/schedule/recurring/new", data=form).status_code == 403
    assert csrf != viewer_csrf
