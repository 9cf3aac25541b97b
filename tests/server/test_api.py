"""The JSON API on SQLite and PostgreSQL: every endpoint, auth failures, cross-site access, limits."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from storage.migrate import head_revision
from tests.server.conftest import START, Server

NETZERO = {
    "timezone": "Europe/Amsterdam",
    "default": {"mode": "standby"},
    "recurring": [
        {"id": "evening", "days": ["mon", "tue"], "start": "17:00", "end": "23:00", "mode": "netzero"}
    ],
}


def event(
    seq: int, kind: str = "meter_reading", seconds: float | None = None, **payload: Any
) -> dict[str, Any]:
    at = START + timedelta(seconds=seq if seconds is None else seconds)
    return {
        "seq": seq,
        "at": at.isoformat(),
        "kind": kind,
        "payload": payload or {"grid_w": float(seq)},
        "schema_version": 1,
        "software_version": "0.1.0",
    }


def current_etag(server: Server, site: str = "home") -> str:
    reply = server.client.get(f"/api/v1/sites/{site}/schedule", headers=server.bearer(site))
    assert reply.status_code == 200
    return reply.headers["etag"]


# -- schedule ------------------------------------------------------------------------------------------


def test_schedule_starts_as_version_0_default(server: Server) -> None:
    reply = server.client.get("/api/v1/sites/home/schedule", headers=server.bearer())
    assert reply.status_code == 200
    assert reply.headers["x-schedule-version"] == "0"
    assert reply.json()["default"]["mode"] == "standby"
    again = server.client.get(
        "/api/v1/sites/home/schedule", headers={**server.bearer(), "If-None-Match": reply.headers["etag"]}
    )
    assert again.status_code == 304


def test_put_schedule_keeps_every_version_with_author(server: Server) -> None:
    etag = current_etag(server)
    first = server.client.put(
        "/api/v1/sites/home/schedule", json=NETZERO, headers={**server.bearer(), "If-Match": etag}
    )
    assert first.status_code == 200, first.text
    assert first.headers["x-schedule-version"] == "1"
    server.clock.advance(60)
    changed = {**NETZERO, "default": {"mode": "netzero_plus"}}
    second = server.client.put(
        "/api/v1/sites/home/schedule",
        json=changed,
        headers={**server.bearer(), "If-Match": first.headers["etag"]},
    )
    assert second.status_code == 200
    assert second.headers["etag"] != first.headers["etag"]
    versions = server.client.get("/api/v1/sites/home/schedule/versions", headers=server.bearer()).json()
    assert [v["version"] for v in versions["versions"]] == [2, 1]
    assert versions["versions"][0]["author"] == "controller:home"
    assert versions["versions"][1]["created_at"].startswith("2026-11-24T12:00:00")
    one = server.client.get("/api/v1/sites/home/schedule/versions/1", headers=server.bearer()).json()
    assert one["schedule"]["recurring"][0]["id"] == "evening"
    assert one["schedule"]["default"]["mode"] == "standby"
    missing = server.client.get("/api/v1/sites/home/schedule/versions/9", headers=server.bearer())
    assert missing.status_code == 404


def test_put_schedule_needs_if_match_and_refuses_stale(server: Server) -> None:
    url = "/api/v1/sites/home/schedule"
    assert server.client.put(url, json=NETZERO, headers=server.bearer()).status_code == 428
    etag = current_etag(server)
    assert (
        server.client.put(url, json=NETZERO, headers={**server.bearer(), "If-Match": etag}).status_code == 200
    )
    stale = server.client.put(url, json=NETZERO, headers={**server.bearer(), "If-Match": etag})
    assert stale.status_code == 412
    assert "reload" in stale.json()["detail"]


def test_put_schedule_422_names_slot_and_field(server: Server) -> None:
    bad = {
        "recurring": [
            {"days": ["mon"], "start": "01:00", "end": "05:00", "mode": "charge"},
            {"days": ["tue"], "start": "01:00", "end": "05:00", "mode": "discharge", "power_w": "lots"},
        ]
    }
    reply = server.client.put(
        "/api/v1/sites/home/schedule", json=bad, headers={**server.bearer(), "If-Match": current_etag(server)}
    )
    assert reply.status_code == 422
    errors = reply.json()["errors"]
    assert {(e["slot"], e["field"]) for e in errors} >= {
        ("recurring[0]", "power_w"),
        ("recurring[1]", "power_w"),
    }
    assert all(e["msg"] for e in errors)
    not_object = server.client.put(
        "/api/v1/sites/home/schedule", json=[1, 2], headers={**server.bearer(), "If-Match": "*"}
    )
    assert not_object.status_code == 422


def test_schedule_checks_device_maximum_reported_by_the_site(server: Server) -> None:
    status = {
        "state": "Standby",
        "heartbeat_at": START.isoformat(),
        "max_charge_w": 1000,
        "max_discharge_w": 800,
    }
    assert (
        server.client.post("/api/v1/sites/home/status", json=status, headers=server.bearer()).status_code
        == 200
    )
    too_much = {
        "recurring": [
            {"days": ["mon"], "start": "17:00", "end": "18:00", "mode": "discharge", "power_w": 2400}
        ]
    }
    reply = server.client.put(
        "/api/v1/sites/home/schedule", json=too_much, headers={**server.bearer(), "If-Match": "*"}
    )
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["slot"] == "recurring[0]"


def test_schedule_json_schema_is_public(server: Server) -> None:
    reply = server.client.get("/api/v1/schedule.schema.json")
    assert reply.status_code == 200
    schema = reply.json()
    assert schema["$schema"].endswith("2020-12/schema")
    assert "recurring" in schema["properties"]


# -- auth ----------------------------------------------------------------------------------------------

SITE_ENDPOINTS = [
    ("GET", "/schedule", None),
    ("PUT", "/schedule", NETZERO),
    ("GET", "/schedule/versions", None),
    ("GET", "/schedule/versions/1", None),
    ("POST", "/events", {"events": [event(1)]}),
    ("POST", "/status", {"state": "Standby", "heartbeat_at": START.isoformat()}),
    ("GET", "/status", None),
    ("GET", "/telemetry", None),
    ("GET", "/audit?at=2026-11-24T12:00:00Z", None),
]


def test_every_site_endpoint_refuses_missing_bad_and_foreign_tokens(server: Server) -> None:
    for method, path, body in SITE_ENDPOINTS:
        url = f"/api/v1/sites/home{path}"
        headers = {"If-Match": "*"}
        assert server.client.request(method, url, json=body, headers=headers).status_code == 401, url
        wrong = {**headers, "Authorization": "Bearer zsm_not-a-token"}
        reply = server.client.request(method, url, json=body, headers=wrong)
        assert reply.status_code == 401, url
        assert reply.headers["www-authenticate"].startswith("Bearer")
        malformed = {**headers, "Authorization": "Basic abc"}
        assert server.client.request(method, url, json=body, headers=malformed).status_code == 401, url
        foreign = {**headers, **server.bearer("away")}
        reply = server.client.request(method, url, json=body, headers=foreign)
        assert reply.status_code == 403, url
        assert "another site" in reply.json()["detail"]


def test_people_need_a_role_on_the_site(server: Server) -> None:
    csrf = server.login("carol")  # editor on "away" only
    for method, path, body in SITE_ENDPOINTS:
        reply = server.client.request(
            method, f"/api/v1/sites/home{path}", json=body, headers={"If-Match": "*", "X-CSRF-Token": csrf}
        )
        assert reply.status_code == 403, path


def test_viewer_reads_but_cannot_write(server: Server) -> None:
    csrf = server.login("bob")
    assert server.client.get("/api/v1/sites/home/schedule").status_code == 200
    assert server.client.get("/api/v1/sites/home/telemetry").status_code == 200
    reply = server.client.put(
        "/api/v1/sites/home/schedule", json=NETZERO, headers={"If-Match": "*", "X-CSRF-Token": csrf}
    )
    assert reply.status_code == 403
    assert "viewer" in reply.json()["detail"]


def test_editor_writes_with_csrf_only(server: Server) -> None:
    csrf = server.login("alice")
    etag = server.client.get("/api/v1/sites/home/schedule").headers["etag"]
    no_csrf = server.client.put("/api/v1/sites/home/schedule", json=NETZERO, headers={"If-Match": etag})
    assert no_csrf.status_code == 403
    bad_csrf = server.client.put(
        "/api/v1/sites/home/schedule", json=NETZERO, headers={"If-Match": etag, "X-CSRF-Token": "nope"}
    )
    assert bad_csrf.status_code == 403
    ok = server.client.put(
        "/api/v1/sites/home/schedule", json=NETZERO, headers={"If-Match": etag, "X-CSRF-Token": csrf}
    )
    assert ok.status_code == 200
    versions = server.client.get("/api/v1/sites/home/schedule/versions").json()["versions"]
    assert versions[0]["author"] == "user:alice"


def test_people_cannot_post_events_or_status(server: Server) -> None:
    csrf = server.login("alice")
    headers = {"X-CSRF-Token": csrf}
    assert (
        server.client.post("/api/v1/sites/home/events", json={"events": []}, headers=headers).status_code
        == 403
    )
    status = {"state": "x", "heartbeat_at": START.isoformat()}
    assert server.client.post("/api/v1/sites/home/status", json=status, headers=headers).status_code == 403


def test_session_cookie_flags_and_logout(server: Server) -> None:
    reply = server.client.post(
        "/login", data={"username": "alice", "password": "correct horse battery"}, follow_redirects=False
    )
    cookie = reply.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http here; behind TLS the flag is set (see the https test)
    page = server.client.get("/sites/home")
    csrf = page.text.split('name="csrf-token" content="')[1].split('"')[0]
    out = server.client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    server.client.cookies.clear()
    assert server.client.get("/api/v1/sites/home/schedule").status_code == 401


def test_secure_cookie_over_https(server: Server) -> None:
    reply = server.client.post(
        "https://testserver/login",
        data={"username": "alice", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert "Secure" in reply.headers["set-cookie"]
    assert reply.headers["strict-transport-security"].startswith("max-age=")


def test_login_throttles_the_address_and_account_without_locking_the_owner_out(server: Server) -> None:
    for _ in range(5):
        reply = server.client.post("/login", data={"username": "alice", "password": "wrong"})
        assert reply.status_code == 401
    throttled = server.client.post("/login", data={"username": "alice", "password": "correct horse battery"})
    assert throttled.status_code == 429
    assert "too many failed logins" in throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 15 * 60
    owner = TestClient(server.app, base_url="http://testserver", client=("192.0.2.7", 50000))  # type: ignore[arg-type]
    elsewhere = owner.post(
        "/login", data={"username": "alice", "password": "correct horse battery"}, follow_redirects=False
    )
    assert elsewhere.status_code == 303  # the owner, from another address, is not locked out
    server.clock.advance(16 * 60)
    again = server.client.post(
        "/login", data={"username": "alice", "password": "correct horse battery"}, follow_redirects=False
    )
    assert again.status_code == 303
    with server.app.state.zsm.engine.connect() as connection:  # type: ignore[attr-defined]
        left = connection.exec_driver_sql("SELECT count(*) FROM login_attempts").scalar()
    assert left == 1  # the five old failures were pruned


def test_unknown_user_and_wrong_password_look_the_same(server: Server) -> None:
    unknown = server.client.post("/login", data={"username": "mallory", "password": "whatever1"})
    wrong = server.client.post("/login", data={"username": "alice", "password": "whatever1"})
    assert unknown.status_code == wrong.status_code == 401
    assert "wrong user name or password" in unknown.text and "wrong user name or password" in wrong.text


def test_pages_redirect_to_login(server: Server) -> None:
    reply = server.client.get("/sites/home/schedule", follow_redirects=False)
    assert reply.status_code == 303
    assert reply.headers["location"] == "/login?next=/sites/home/schedule"


# -- ingest ----------------------------------------------------------------------------------------------


def test_ingest_is_idempotent_and_reports_contiguous_seq(server: Server) -> None:
    url = "/api/v1/sites/home/events"
    first = server.client.post(url, json={"events": [event(i) for i in range(1, 6)]}, headers=server.bearer())
    assert first.json() == {"stored": 5, "highest_contiguous_seq": 5, "rejected": []}
    again = server.client.post(url, json={"events": [event(i) for i in range(1, 6)]}, headers=server.bearer())
    assert again.json() == {"stored": 0, "highest_contiguous_seq": 5, "rejected": []}
    gap = server.client.post(url, json={"events": [event(8), event(9)]}, headers=server.bearer())
    assert gap.json() == {"stored": 2, "highest_contiguous_seq": 5, "rejected": []}
    fill = server.client.post(url, json={"events": [event(7), event(6), event(6)]}, headers=server.bearer())
    assert fill.json() == {"stored": 2, "highest_contiguous_seq": 9, "rejected": []}
    other = server.client.post(
        "/api/v1/sites/away/events", json={"events": [event(1)]}, headers=server.bearer("away")
    )
    assert other.json() == {"stored": 1, "highest_contiguous_seq": 1, "rejected": []}


def test_ingest_keeps_unknown_kinds(server: Server) -> None:
    batch = {"events": [event(1, "future_kind", note="from a newer daemon")]}
    reply = server.client.post("/api/v1/sites/home/events", json=batch, headers=server.bearer())
    assert reply.json() == {"stored": 1, "highest_contiguous_seq": 1, "rejected": []}


def test_ingest_rejects_malformed_events(server: Server) -> None:
    bad = {"events": [{**event(1), "at": "2026-11-24T12:00:00"}]}  # no offset: rejected alone, by its seq
    reply = server.client.post("/api/v1/sites/home/events", json=bad, headers=server.bearer())
    assert reply.status_code == 200
    assert reply.json()["rejected"][0]["seq"] == 1 and reply.json()["rejected"][0]["reason"].startswith("at:")
    unnamed = {"events": [{**event(2), "seq": "two"}]}
    reply = server.client.post("/api/v1/sites/home/events", json=unnamed, headers=server.bearer())
    assert reply.status_code == 422
    assert reply.json()["errors"][0]["loc"][:3] == ["events", 0, "seq"]
    zero = {"events": [event(0)]}
    assert (
        server.client.post("/api/v1/sites/home/events", json=zero, headers=server.bearer()).status_code == 422
    )


@pytest.mark.parametrize("server_config", [{"max_ingest_bytes": 20_000, "max_ingest_events": 50}])
def test_ingest_413_on_too_large(server: Server) -> None:
    url = "/api/v1/sites/home/events"
    many = server.client.post(url, json={"events": [event(i) for i in range(1, 61)]}, headers=server.bearer())
    assert many.status_code == 413
    big = {"events": [event(1, note="x" * 30_000)]}
    reply = server.client.post(url, json=big, headers=server.bearer())
    assert reply.status_code == 413
    assert "too large" in reply.json()["detail"]


def test_other_bodies_413_over_the_general_limit(server: Server) -> None:
    huge = {"state": "x" * 300_000, "heartbeat_at": START.isoformat()}
    reply = server.client.post("/api/v1/sites/home/status", json=huge, headers=server.bearer())
    assert reply.status_code == 413


@pytest.mark.parametrize("server_config", [{"ingest_rate_per_s": 1.0, "ingest_burst": 3}])
def test_ingest_429_with_retry_after(server: Server) -> None:
    url = "/api/v1/sites/home/events"
    codes = [
        server.client.post(url, json={"events": [event(i)]}, headers=server.bearer()).status_code
        for i in range(1, 5)
    ]
    assert codes == [200, 200, 200, 429]
    limited = server.client.post(url, json={"events": [event(5)]}, headers=server.bearer())
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    server.clock.advance(2)
    assert server.client.post(url, json={"events": [event(5)]}, headers=server.bearer()).status_code == 200
    # one site's limit does not touch another site
    assert (
        server.client.post(
            "/api/v1/sites/away/events", json={"events": [event(1)]}, headers=server.bearer("away")
        ).status_code
        == 200
    )


@pytest.mark.parametrize("server_config", [{"api_rate_per_s": 1.0, "api_burst": 2}])
def test_api_429_for_a_chatty_token(server: Server) -> None:
    codes = [
        server.client.get("/api/v1/sites/home/schedule", headers=server.bearer()).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]


# -- status ----------------------------------------------------------------------------------------------


def test_status_heartbeat_age_and_stale(server: Server) -> None:
    assert server.client.get("/api/v1/sites/home/status", headers=server.bearer()).json()["stale"] is True
    body = {
        "state": "NetZero",
        "last_command": {"kind": "discharge", "power_w": 300},
        "last_command_at": START.isoformat(),
        "software_version": "0.1.0",
        "heartbeat_at": START.isoformat(),
        "soc_pct": 55.0,
    }
    posted = server.client.post("/api/v1/sites/home/status", json=body, headers=server.bearer())
    assert posted.status_code == 200
    server.clock.advance(60)
    fresh = server.client.get("/api/v1/sites/home/status", headers=server.bearer()).json()
    assert fresh["state"] == "NetZero" and fresh["soc_pct"] == 55.0
    assert fresh["heartbeat_age_s"] == 60.0 and fresh["stale"] is False
    server.clock.advance(200)
    assert server.client.get("/api/v1/sites/home/status", headers=server.bearer()).json()["stale"] is True
    assert (
        server.client.get("/api/v1/sites/away/status", headers=server.bearer("away")).json()["state"] is None
    )


def test_status_needs_heartbeat(server: Server) -> None:
    reply = server.client.post("/api/v1/sites/home/status", json={"state": "x"}, headers=server.bearer())
    assert reply.status_code == 422


# -- telemetry and audit ---------------------------------------------------------------------------------


def _feed_hour(server: Server) -> None:
    events = []
    seq = 0
    for second in range(3600):
        seq += 1
        events.append(event(seq, "meter_reading", second, grid_w=100.0 if second < 1800 else -50.0))
        if second % 5 == 0:
            seq += 1
            events.append(event(seq, "battery_reading", second, battery_w=200.0, soc_pct=50 + second / 360))
        if second % 600 == 0:
            seq += 1
            power = 100 * (second // 600 + 1)
            events.append(
                event(
                    seq,
                    "command_issued",
                    second,
                    command={"kind": "discharge", "power_w": power},
                    state="NetZero",
                    reason="grid import",
                    inputs={"load_w": 300.0},
                )
            )
            seq += 1
            events.append(
                event(
                    seq,
                    "command_result",
                    second + 0.2,
                    command={"kind": "discharge", "power_w": power},
                    ok=True,
                    latency_ms=40.0,
                )
            )
        if second == 0:
            seq += 1
            events.append(event(seq, "slot_changed", 0, mode="netzero", slot_id="evening"))
        if second == 1800:
            seq += 1
            events.append(event(seq, "slot_changed", 1800, mode="standby"))
    for i in range(0, len(events), 500):
        reply = server.client.post(
            "/api/v1/sites/home/events", json={"events": events[i : i + 500]}, headers=server.bearer()
        )
        assert reply.status_code == 200
    assert reply.json()["highest_contiguous_seq"] == seq
    server.clock.advance(3600)  # the hour is over: slot spans are drawn up to "now"


@pytest.mark.parametrize(("points", "source"), [(400, "samples"), (120, "rollup_10s"), (6, "rollup_60s")])
def test_telemetry_min_max_mean_per_bucket(server: Server, points: int, source: str) -> None:
    _feed_hour(server)
    params = {"start": START.isoformat(), "end": (START + timedelta(hours=1)).isoformat(), "points": points}
    reply = server.client.get("/api/v1/sites/home/telemetry", params=params, headers=server.bearer())
    assert reply.status_code == 200, reply.text
    data = reply.json()
    assert data["source"] == source
    assert len(data["t"]) == points and data["bucket_s"] == 3600 / points
    grid = data["grid_w"]
    assert grid["mean"][0] == 100.0 and grid["mean"][-1] == -50.0
    assert grid["min"][0] == grid["max"][0] == 100.0
    assert data["battery_w"]["mean"][0] == 200.0
    assert 50 <= data["soc_pct"]["min"][0] <= data["soc_pct"]["max"][-1] <= 60
    setpoint = data["setpoint_w"]["mean"]
    assert setpoint[0] == 100.0 and setpoint[-1] == 600.0 and None not in setpoint
    assert [s["mode"] for s in data["slots"]] == ["netzero", "standby"]


def test_telemetry_rejects_bad_ranges(server: Server) -> None:
    url = "/api/v1/sites/home/telemetry"
    backwards = {"start": "2026-11-24T12:00:00Z", "end": "2026-11-24T11:00:00Z"}
    assert server.client.get(url, params=backwards, headers=server.bearer()).status_code == 400
    naive = {"start": "2026-11-24T11:00:00", "end": "2026-11-24T12:00:00Z"}
    assert server.client.get(url, params=naive, headers=server.bearer()).status_code == 400
    assert server.client.get(url, params={"points": 0}, headers=server.bearer()).status_code == 422
    assert server.client.get(url, params={"points": 10**6}, headers=server.bearer()).status_code == 422


def test_audit_explains_the_command_in_force(server: Server) -> None:
    _feed_hour(server)
    at = (START + timedelta(seconds=1205)).isoformat()
    reply = server.client.get("/api/v1/sites/home/audit", params={"at": at}, headers=server.bearer())
    assert reply.status_code == 200
    audit = reply.json()
    assert audit["command"]["payload"]["command"] == {"kind": "discharge", "power_w": 300}
    assert audit["command"]["setpoint_w"] == 300.0
    assert audit["in_force_until"].startswith("2026-11-24T12:30:00")
    assert audit["result"]["payload"]["ok"] is True
    kinds = {e["kind"] for e in audit["events"]}
    assert {"meter_reading", "battery_reading", "slot_changed"} <= kinds
    assert "discharge 300 W" in audit["explanation"] and "grid import" in audit["explanation"]
    before = server.client.get(
        "/api/v1/sites/home/audit", params={"at": "2026-11-24T11:00:00Z"}, headers=server.bearer()
    ).json()
    assert before["command"] is None
    assert server.client.get("/api/v1/sites/home/audit", headers=server.bearer()).status_code == 422


# -- health, headers, errors -----------------------------------------------------------------------------


def test_health_and_readiness(server: Server) -> None:
    assert server.client.get("/healthz").json() == {"status": "ok"}
    ready = server.client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["revision"] == head_revision()


def test_openapi_lists_the_contract_paths(server: Server) -> None:
    paths = server.client.get("/openapi.json").json()["paths"]
    for path in (
        "/api/v1/sites/{site}/schedule",
        "/api/v1/sites/{site}/schedule/versions",
        "/api/v1/sites/{site}/schedule/versions/{n}",
        "/api/v1/sites/{site}/events",
        "/api/v1/sites/{site}/status",
        "/api/v1/sites/{site}/telemetry",
        "/api/v1/sites/{site}/audit",
        "/api/v1/schedule.schema.json",
        "/healthz",
        "/readyz",
    ):
        assert path in paths


def test_security_headers(server: Server) -> None:
    reply = server.client.get("/login")
    assert "default-src 'self'" in reply.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "no-referrer"
    assert reply.headers["cache-control"] == "no-store"
    assert "server" not in {k.lower() for k in reply.headers if k.lower() == "x-powered-by"}


def test_no_stack_traces_to_clients(server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.server.routes import api

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internals /etc/passwd")

    monkeypatch.setattr(api.schedules, "current_schedule", boom)
    client = server.client
    client._transport.app_raise_server_exceptions = False  # type: ignore[attr-defined]  # noqa: SLF001
    from fastapi.testclient import TestClient

    quiet = TestClient(server.app, raise_server_exceptions=False)  # type: ignore[arg-type]
    reply = quiet.get("/api/v1/sites/home/schedule", headers=server.bearer())
    assert reply.status_code == 500
    assert reply.json() == {"detail": "internal server error"}
    assert "secret" not in reply.text and "Traceback" not in reply.text


def test_plotly_is_served_locally(server: Server) -> None:
    reply = server.client.get("/static/vendor/plotly.min.js")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/javascript")
    assert len(reply.content) > 1_000_000
    assert server.client.get("/static/dashboard.js").status_code == 200


def test_cached_schedule_fast_path_matches_the_route(server: Server) -> None:
    url = "/api/v1/sites/home/schedule"
    first = server.client.get(url, headers=server.bearer())  # fills the cache through the route
    cached = server.client.get(url, headers=server.bearer())  # answered by the fast path
    assert cached.status_code == 200 and cached.json() == first.json()
    assert cached.headers["etag"] == first.headers["etag"]
    assert cached.headers["x-content-type-options"] == "nosniff"
    foreign = server.client.get(url, headers=server.bearer("away"))
    assert foreign.status_code == 403
    saved = server.client.put(
        url, json=NETZERO, headers={**server.bearer(), "If-Match": first.headers["etag"]}
    )
    after = server.client.get(url, headers=server.bearer())
    assert after.headers["etag"] == saved.headers["etag"] != first.headers["etag"]
    assert after.json()["recurring"][0]["id"] == "evening"


def test_pages_show_errors_as_html(server: Server) -> None:
    server.login("carol")
    reply = server.client.get("/sites/home/schedule", headers={"Accept": "text/html"})
    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("text/html")
    assert "no role on this site" in reply.text


def test_deeply_nested_body_is_a_client_error(server: Server) -> None:
    body = (
        '{"events": [{"seq": 1, "at": "2026-11-24T12:00:00Z", "kind": "x", "payload": {"a": ' + "[" * 100_000
    )
    body += "]" * 100_000 + "}}]}"
    reply = server.client.post(
        "/api/v1/sites/home/events",
        content=body,
        headers={**server.bearer(), "Content-Type": "application/json"},
    )
    assert 400 <= reply.status_code < 500
