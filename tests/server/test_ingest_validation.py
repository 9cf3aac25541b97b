"""Per-event ingest validation: a bad event is rejected alone with its reason, the stream moves on;
SQLite lock contention answers 503 with Retry-After."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from controller.clock import ManualClock
from storage.database import create_db_engine, sqlite_url
from storage.server.app import create_app
from storage.server.config import ServerConfig
from storage.server.services.sites import create_site
from tests.server.conftest import Server

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def _event(seq: int, **payload: Any) -> dict[str, Any]:
    return {
        "seq": seq,
        "at": (T0 + timedelta(seconds=seq)).isoformat(),
        "kind": "meter_reading",
        "payload": payload or {"grid_w": 1.0},
    }


def _post(server: Server, events: list[dict[str, Any]]) -> Any:
    body = json.dumps({"events": events})  # json.dumps writes NaN as the daemon's requests did
    return server.client.post(
        "/api/v1/sites/home/events",
        content=body,
        headers={**server.bearer(), "Content-Type": "application/json"},
    )


def test_nan_and_nul_are_rejected_alone_and_the_cursor_moves_past_them(server: Server) -> None:
    events = [_event(1), _event(2, grid_w=float("nan")), _event(3, note="a\x00b"), _event(4)]
    reply = _post(server, events)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["stored"] == 2 and body["highest_contiguous_seq"] == 4
    reasons = {item["seq"]: item["reason"] for item in body["rejected"]}
    assert set(reasons) == {2, 3}
    assert "not a finite number" in reasons[2] and "NUL" in reasons[3]
    again = _post(server, events).json()  # re-sent: nothing new, nothing rejected twice
    assert again == {"stored": 0, "highest_contiguous_seq": 4, "rejected": []}
    assert _post(server, [_event(5)]).json()["highest_contiguous_seq"] == 5


def test_an_event_of_invalid_shape_is_rejected_by_its_seq(server: Server) -> None:
    bad = {**_event(2), "kind": "Not A Kind!"}
    body = _post(server, [_event(1), bad, _event(3)]).json()
    assert body["stored"] == 2 and body["highest_contiguous_seq"] == 3
    assert [item["seq"] for item in body["rejected"]] == [2]
    assert "kind" in body["rejected"][0]["reason"]
    nameless = _post(server, [{"at": T0.isoformat(), "kind": "x"}])
    assert nameless.status_code == 422  # without a seq it cannot be accounted for


def test_sqlite_lock_contention_answers_503_with_retry_after(tmp_path: Path) -> None:
    path = tmp_path / "server.db"
    engine = create_db_engine(sqlite_url(path))
    from sqlalchemy import event

    event.listen(
        engine, "connect", lambda connection, _record: connection.execute("PRAGMA busy_timeout = 50")
    )
    clock = ManualClock(T0)
    app = create_app(ServerConfig(database_url=sqlite_url(path)), clock=clock, engine=engine)
    _site, token = create_site(engine, "home", T0)
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        with TestClient(app) as client:
            reply = client.post(
                "/api/v1/sites/home/events",
                json={"events": [_event(1)]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert reply.status_code == 503, reply.text
            assert reply.headers["Retry-After"] == "2"
            holder.execute("ROLLBACK")
            reply = client.post(
                "/api/v1/sites/home/events",
                json={"events": [_event(1)]},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert reply.status_code == 200
    finally:
        holder.close()
        engine.dispose()


def test_words_that_look_like_bad_json_are_stored(server: Server) -> None:
    events = [_event(1, note="NaN Infinity \\u0000", grid_w=1.0)]
    body = _post(server, events).json()
    assert body == {"stored": 1, "highest_contiguous_seq": 1, "rejected": []}
