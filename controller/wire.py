"""The daemon↔server wire contract, defined once: the ingest batch, the ingest reply, the status report.

The daemon (``controller/daemon/server_client.py``, ``forwarder.py``) builds these models and the server
(``storage/server``) validates with the same ones, so the two sides cannot drift apart.

A batch names the event log it comes from (``log_id``): a reinstalled daemon starts a new log at seq 1,
and the server keys its copy by (site, log, seq), so a site's history spans several logs. An event the
server cannot store (a NaN, a NUL byte, a shape it does not accept) is rejected alone, with its reason in
the reply, and counted as handled, so one bad event never blocks the stream.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from controller.domain.schedule import MAX_BATTERY_W

__all__ = [
    "BatteryMemberStatus",
    "LEGACY_LOG_ID",
    "LOG_ID_PATTERN",
    "IngestBatch",
    "IngestEvent",
    "IngestRejection",
    "IngestReply",
    "StatusReport",
    "payload_problem",
]

LOG_ID_PATTERN = r"^[0-9a-f]{32}$"
LEGACY_LOG_ID = ""  # events stored before logs had an identity


class IngestEvent(BaseModel):
    """One event of the daemon's log as it forwards it (the payload is checked per event on the server)."""

    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=1, le=2**62, description="The event's sequence number within its log")
    at: AwareDatetime = Field(description="When the event happened (with offset)")
    kind: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
    payload: dict[str, Any] = Field(
        default_factory=dict, description="The event's fields besides kind and at"
    )
    schema_version: int = Field(default=1, ge=1, le=32767)
    software_version: str = Field(default="unknown", max_length=32)


class IngestBatch(BaseModel):
    """A batch of events of one log, in any order (re-sending is harmless)."""

    model_config = ConfigDict(extra="forbid")

    log_id: str | None = Field(
        default=None,
        pattern=LOG_ID_PATTERN,
        description="The identity of the daemon's event log (absent: a daemon from before log identities)",
    )
    log_first_seq: int = Field(
        default=1,
        ge=1,
        le=2**62,
        description="The first seq of the log under this identity (events before it predate the identity)",
    )
    events: list[IngestEvent]


class IngestRejection(BaseModel):
    """An event the server will not store, and why (it counts as handled: the stream moves on)."""

    seq: int
    reason: str


class IngestReply(BaseModel):
    """``stored``: new events; ``highest_contiguous_seq``: every seq of the log up to it is handled."""

    stored: int
    highest_contiguous_seq: int
    rejected: list[IngestRejection] = Field(default_factory=list)


class BatteryMemberStatus(BaseModel):
    """One of several batteries on the meter, as the last status saw it."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(max_length=32)
    online: bool
    soc_pct: float | None = Field(default=None, ge=0, le=100)
    battery_w: float | None = Field(default=None, ge=-MAX_BATTERY_W, le=MAX_BATTERY_W)
    share_w: float | None = Field(default=None, ge=-MAX_BATTERY_W, le=MAX_BATTERY_W)


class StatusReport(BaseModel):
    """The liveness status the daemon posts every minute (device limits within physical bounds)."""

    model_config = ConfigDict(frozen=True)

    state: str = Field(max_length=64)
    last_command: dict[str, Any] | None = None
    last_command_at: AwareDatetime | None = None
    software_version: str = Field(default="unknown", max_length=32)
    heartbeat_at: AwareDatetime
    slot: dict[str, Any] | None = None
    soc_pct: float | None = Field(default=None, ge=0, le=100)
    grid_w: float | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    battery_w: float | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    max_charge_w: int | None = Field(default=None, ge=0, le=MAX_BATTERY_W)
    max_discharge_w: int | None = Field(default=None, ge=0, le=MAX_BATTERY_W)
    worker_healthy: bool = True
    worker_problem: str | None = Field(default=None, max_length=500)
    schedule_checked_at: AwareDatetime | None = None
    schedule_check_interval_s: float | None = Field(default=None, gt=0, le=86_400)
    #: several batteries: each one (the fields above are their total)
    batteries: list[BatteryMemberStatus] = Field(default_factory=list, max_length=8)


def payload_problem(payload: Any) -> str | None:
    """Why the server cannot store ``payload`` (a non-finite number, a NUL byte), or ``None``.

    Linear in the size of the payload; the first problem found is named with its path.
    """
    stack: list[tuple[str, Any]] = [("payload", payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, float) and not math.isfinite(value):
            return f"{path}: {value} is not a finite number"
        if isinstance(value, str) and "\x00" in value:
            return f"{path}: contains a NUL byte"
        if isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return f"{path}: a key contains a NUL byte"
                stack.append((f"{path}.{key}", item))
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in enumerate(value))
    return None
