"""The JSON API under ``/api/v1`` (thin: parse, check access, call a service, shape the reply)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from controller.domain.schedule import MAX_YEAR, Schedule
from controller.wire import IngestRejection, IngestReply, StatusReport
from storage.server.auth import Access, SiteAccess, context_of, require_controller, require_editor
from storage.server.context import ServerContext
from storage.server.errors import InvalidInput, RateLimited, ServerError, TooLarge
from storage.server.pickup import schedule_pickup
from storage.server.schedule_model import schedule_json_schema, validate_schedule
from storage.server.schemas import (
    AuditOut,
    ErrorOut,
    PickupOut,
    PricesOut,
    ScheduleVersionOut,
    ScheduleVersionsOut,
    SpansOut,
    TelemetryOut,
)
from storage.server.services import schedules
from storage.server.services.audit import audit_at
from storage.server.services.ingest import IngestEvent, ingest_events, parse_batch
from storage.server.services.sites import SiteRef
from storage.server.services.status import device_limits, read_status, store_status
from storage.server.services.telemetry import query_telemetry
from storage.server.services.timeline import price_intervals, schedule_spans

__all__ = ["router"]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (401, 403, 404, 413, 422, 429)
}
router = APIRouter(prefix="/api/v1", responses=ERRORS)
MAX_RANGE = timedelta(days=400)
FIRST_MOMENT = datetime(1971, 1, 1, tzinfo=UTC)  # a range reaches back up to MAX_RANGE from here
LAST_MOMENT = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)
MAX_SPAN_RANGE = timedelta(days=14)
ScheduleBody = Annotated[dict[str, Any], Body(description="A schedule (see /api/v1/schedule.schema.json)")]


@router.get("/schedule.schema.json", tags=["schedule"], summary="JSON Schema of a schedule")
def get_schedule_schema() -> JSONResponse:
    return JSONResponse(schedule_json_schema(), media_type="application/schema+json")


def _schedule_headers(doc: schedules.ScheduleDoc) -> dict[str, str]:
    return {"ETag": doc.etag, "X-Schedule-Version": str(doc.version)}


def _schedule_reply(doc: schedules.ScheduleDoc) -> JSONResponse:
    return JSONResponse(doc.body, headers=_schedule_headers(doc))


def current_schedule_cached(context: ServerContext, site: SiteRef) -> tuple[schedules.ScheduleDoc, bytes]:
    """The current schedule and its JSON, from the per-process cache when fresh."""
    cached = context.schedule_cache.get(site.id)
    if cached is None:
        doc = schedules.current_schedule(context.engine, site)
        cached = (doc, json.dumps(doc.body, separators=(",", ":")).encode())
        context.schedule_cache.put(site.id, cached)
    return cached


@router.get(
    "/sites/{site}/schedule",
    tags=["schedule"],
    summary="The current schedule (ETag header; version 0 is the default before the first save)",
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "Not modified"}},
)
async def get_schedule(
    request: Request, access: SiteAccess, if_none_match: Annotated[str | None, Header()] = None
) -> Response:
    context = context_of(request)
    doc, body = current_schedule_cached(context, access.site)
    if access.role == "controller":  # a 304 too: the daemon then holds this version
        context.schedule_fetches.record(access.site.id, context.clock.now(), doc.etag)
    if if_none_match and doc.etag in [part.strip() for part in if_none_match.split(",")]:
        return Response(status_code=304, headers=_schedule_headers(doc))
    return Response(body, media_type="application/json", headers=_schedule_headers(doc))


@router.put(
    "/sites/{site}/schedule",
    tags=["schedule"],
    summary="Replace the schedule (If-Match with the ETag you edited; 412 when stale, 422 when invalid)",
    responses={412: {"model": ErrorOut}, 428: {"model": ErrorOut}},
)
def put_schedule(
    request: Request,
    body: ScheduleBody,
    access: Annotated[Access, Depends(require_editor)],
    if_match: Annotated[str | None, Header()] = None,
) -> JSONResponse:
    context = context_of(request)
    normalised = validate_schedule(body, device_limits(context.engine, access.site))
    context.schedule_cache.discard(access.site.id)
    try:
        doc = schedules.put_schedule(
            context.engine, access.site, normalised, if_match, access.author, context.clock.now()
        )
    finally:
        context.schedule_cache.discard(access.site.id)
    return _schedule_reply(doc)


@router.get(
    "/sites/{site}/schedule/pickup",
    tags=["schedule"],
    summary="The daemon's last schedule fetch, and when it will next check (to see an edit)",
)
def get_schedule_pickup(request: Request, access: SiteAccess) -> PickupOut:
    context = context_of(request)
    doc, _body = current_schedule_cached(context, access.site)
    return PickupOut.model_validate(schedule_pickup(context, access.site, doc))


@router.get("/sites/{site}/schedule/versions", tags=["schedule"], summary="Every stored schedule version")
def list_schedule_versions(request: Request, access: SiteAccess) -> ScheduleVersionsOut:
    docs = schedules.list_versions(context_of(request).engine, access.site)
    return ScheduleVersionsOut(
        site=access.site.name,
        versions=[
            ScheduleVersionOut(version=d.version, etag=d.etag, author=d.author, created_at=d.created_at)
            for d in docs
        ],
    )


@router.get("/sites/{site}/schedule/versions/{n}", tags=["schedule"], summary="One stored schedule version")
def get_schedule_version(
    request: Request, access: SiteAccess, n: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> ScheduleVersionOut:
    doc = schedules.get_version(context_of(request).engine, access.site, n)
    return ScheduleVersionOut(
        version=doc.version, etag=doc.etag, author=doc.author, created_at=doc.created_at, schedule=doc.body
    )


INGEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestBatch"}}},
    }
}


@router.post(
    "/sites/{site}/events",
    tags=["ingest"],
    summary="Store a batch of the daemon's events (idempotent by seq)",
    openapi_extra=INGEST_BODY,
)
async def post_events(
    request: Request, access: Annotated[Access, Depends(require_controller)]
) -> IngestReply:
    # The body is parsed and validated in one step by pydantic-core (a third of the cost of the
    # framework's parse-then-validate on batches of hundreds of events); the schema is IngestBatch.
    # Only when that fails are the events validated one by one, so that a bad one is rejected alone.
    context = context_of(request)
    wait = context.ingest_limiter.take(f"site:{access.site.id}")
    if wait > 0:
        raise RateLimited("ingest rate limit reached; retry later", wait)
    try:
        batch, invalid = parse_batch(await request.body(), context.config.max_ingest_events)
    except ValidationError as err:
        raise RequestValidationError(err.errors(include_url=False, include_input=False)) from err
    except ValueError as err:
        raise TooLarge(str(err)) from err
    events = [
        IngestEvent(e.seq, e.at, e.kind, e.payload, e.schema_version, e.software_version)
        for e in batch.events
    ]
    result = await run_in_threadpool(
        ingest_events,
        context.engine,
        access.site,
        events,
        log_id=batch.log_id,
        first_seq=batch.log_first_seq,
        now=context.clock.now(),
        invalid=invalid,
    )
    return IngestReply(
        stored=result.stored,
        highest_contiguous_seq=result.highest_contiguous_seq,
        rejected=[IngestRejection(seq=seq, reason=reason) for seq, reason in result.rejected],
    )


@router.post("/sites/{site}/status", tags=["status"], summary="The daemon's heartbeat and state")
def post_status(
    request: Request, status: StatusReport, access: Annotated[Access, Depends(require_controller)]
) -> dict[str, Any]:
    context = context_of(request)
    now = context.clock.now()
    store_status(context.engine, access.site, status.model_dump(mode="json"), status.heartbeat_at, now)
    return read_status(context.engine, access.site, now, context.config.heartbeat_stale_s)


@router.get("/sites/{site}/status", tags=["status"], summary="Last status, heartbeat age and staleness")
def get_status(request: Request, access: SiteAccess) -> dict[str, Any]:
    context = context_of(request)
    return read_status(context.engine, access.site, context.clock.now(), context.config.heartbeat_stale_s)


def _moment(name: str, value: datetime) -> datetime:
    """``value`` as aware UTC, or 422 when it lies outside the years the server stores."""
    if value.tzinfo is None:
        raise ServerError(f"{name} needs a UTC offset, e.g. 2026-11-24T00:00:00Z")
    try:
        moment = value.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None or not FIRST_MOMENT <= moment <= LAST_MOMENT:
        raise InvalidInput(f"{name} must lie between {FIRST_MOMENT.year} and {LAST_MOMENT.year - 1}")
    return moment


def _range(request: Request, start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    start = None if start is None else _moment("start", start)
    end = None if end is None else _moment("end", end)
    end = end or context_of(request).clock.now()
    start = start or end - timedelta(days=1)
    if start >= end:
        raise ServerError("start must be before end")
    if end - start > MAX_RANGE:
        raise ServerError(f"the range is limited to {MAX_RANGE.days} days")
    return start, end


@router.get(
    "/sites/{site}/telemetry", tags=["telemetry"], summary="Downsampled grid, battery, SoC, set-point"
)
def get_telemetry(
    request: Request,
    access: SiteAccess,
    start: Annotated[datetime | None, Query(description="Range start (ISO 8601 with offset)")] = None,
    end: Annotated[datetime | None, Query(description="Range end, exclusive (default now)")] = None,
    points: Annotated[int, Query(ge=1, le=5000, description="Number of buckets")] = 500,
) -> TelemetryOut:
    context = context_of(request)
    start, end = _range(request, start, end)
    points = min(points, context.config.telemetry_max_points)
    data = query_telemetry(context.engine, access.site, start, end, points, context.clock.now())
    return TelemetryOut.model_validate(
        {
            "site": access.site.name,
            "start": data.start,
            "end": data.end,
            "points": points,
            "bucket_s": data.bucket_s,
            "source": data.source,
            "t": data.t,
            "slots": data.slots,
            "setpoint_steps": {"t": data.steps.t, "w": data.steps.w},
            **data.series,
        }
    )


@router.get(
    "/sites/{site}/schedule/spans",
    tags=["schedule"],
    summary="The current schedule's slots in force over a range (for the timeline)",
)
def get_schedule_spans(
    request: Request,
    access: SiteAccess,
    start: Annotated[datetime | None, Query(description="Range start (ISO 8601 with offset)")] = None,
    end: Annotated[datetime | None, Query(description="Range end, exclusive (default now)")] = None,
) -> SpansOut:
    start, end = _range(request, start, end)
    if end - start > MAX_SPAN_RANGE:
        raise ServerError(f"the range is limited to {MAX_SPAN_RANGE.days} days")
    doc, _body = current_schedule_cached(context_of(request), access.site)
    schedule = Schedule.model_validate(doc.body)
    spans = schedule_spans(schedule, start, end)
    return SpansOut.model_validate(
        {
            "site": access.site.name,
            "timezone": schedule.timezone,
            "version": doc.version,
            "etag": doc.etag,
            "spans": spans,
        }
    )


@router.get(
    "/sites/{site}/prices",
    tags=["telemetry"],
    summary="Day-ahead prices over a range, if any arrived (an empty list otherwise)",
)
def get_prices(
    request: Request,
    access: SiteAccess,
    start: Annotated[datetime | None, Query(description="Range start (ISO 8601 with offset)")] = None,
    end: Annotated[datetime | None, Query(description="Range end, exclusive (default now)")] = None,
) -> PricesOut:
    start, end = _range(request, start, end)
    if end - start > MAX_SPAN_RANGE:
        raise ServerError(f"the range is limited to {MAX_SPAN_RANGE.days} days")
    intervals = price_intervals(context_of(request).engine, access.site, start, end)
    return PricesOut.model_validate(
        {"site": access.site.name, "start": start, "end": end, "intervals": intervals}
    )


@router.get("/sites/{site}/audit", tags=["audit"], summary="The command in force at a moment, and why")
def get_audit(
    request: Request,
    access: SiteAccess,
    at: Annotated[datetime, Query(description="The moment (ISO 8601 with offset)")],
) -> AuditOut:
    at = _moment("at", at)
    audit = audit_at(context_of(request).engine, access.site, at)
    return AuditOut.model_validate(
        {
            "site": access.site.name,
            "at": audit.at,
            "command": audit.command,
            "in_force_until": audit.in_force_until,
            "result": audit.result,
            "events": audit.events,
            "explanation": audit.explanation,
            "details": None if audit.explained is None else audit.explained.model_dump(mode="json"),
        }
    )
