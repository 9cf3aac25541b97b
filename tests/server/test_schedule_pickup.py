"""The page says when the daemon will pick up an edit: its last fetch (the server's record) + interval."""

from __future__ import annotations

import re

from tests.server.conftest import Server


def _note(server: Server) -> str:
    page = server.client.get("/sites/home/schedule").text
    match = re.search(r'<p class="pickup" id="pickup" role="status">([^<]*)</p>', page)
    assert match, page
    return match.group(1)


def _daemon_fetch(server: Server, etag: str | None = None) -> int:
    headers = {**server.bearer(), **({"If-None-Match": etag} if etag else {})}
    code: int = server.client.get("/api/v1/sites/home/schedule", headers=headers).status_code
    return code


def _etag(server: Server) -> str:
    etag: str = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer()).headers["etag"]
    return etag


def test_the_editor_tells_when_the_daemon_sees_an_edit(server: Server) -> None:
    csrf = server.login("alice")
    assert "has not fetched the schedule" in _note(server)
    server.client.get("/api/v1/sites/home/schedule")  # a person reading it is not the daemon
    assert "has not fetched the schedule" in _note(server)

    assert _daemon_fetch(server) == 200  # 12:00Z = 13:00 in Europe/Amsterdam
    assert _note(server) == (
        "The daemon last fetched the schedule at 13:00 and checks every 30 s: it has this version."
    )
    page = server.client.get("/sites/home/schedule").text
    etag = re.search(r'name="etag" value="([^"]+)"', page).group(1).replace("&quot;", '"')  # type: ignore[union-attr]
    form = {
        "csrf_token": csrf,
        "etag": etag,
        "days": ["mon"],
        "start": "17:00",
        "end": "18:00",
        "mode": "netzero",
    }
    server.clock.advance(12)
    assert server.client.post("/sites/home/schedule/recurring/new", data=form).status_code == 200
    assert _note(server).endswith("it will pick up this version by 13:00:30.")

    server.clock.advance(18)
    assert _daemon_fetch(server, _etag(server)) == 304  # a conditional GET that matched counts too
    assert _note(server).startswith("The daemon last fetched the schedule at 13:00:30")
    assert _note(server).endswith("it has this version.")


def test_the_interval_comes_from_the_daemon_status_and_a_silent_daemon_is_overdue(server: Server) -> None:
    server.login("alice")
    status = {
        "state": "NetZero",
        "heartbeat_at": server.clock.now().isoformat(),
        "schedule_check_interval_s": 10,
    }
    assert (
        server.client.post("/api/v1/sites/home/status", json=status, headers=server.bearer()).status_code
        == 200
    )
    _daemon_fetch(server)
    assert "checks every 10 s" in _note(server)
    reply = server.client.get("/api/v1/sites/home/schedule/pickup").json()
    assert (
        reply["check_interval_s"] == 10 and reply["has_current"] and reply["timezone"] == "Europe/Amsterdam"
    )
    server.clock.advance(25)
    assert "overdue (expected by 13:00:10)" in _note(server)
