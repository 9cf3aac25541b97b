"""The FastAPI application factory.

``create_app(config)`` builds an app bound to one database; nothing is created at import time. The
daemon's tests and the demo run it in-process (see :mod:`storage.server.testing`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from controller import __version__
from controller.clock import Clock, SystemClock
from controller.wire import IngestBatch
from storage.database import create_db_engine
from storage.migrate import upgrade
from storage.server.config import ServerConfig
from storage.server.context import ServerContext
from storage.server.errors import InvalidSchedule, RateLimited, ServerError, Unauthorized
from storage.server.fastpath import ScheduleFastPath
from storage.server.middleware import BodyLimitMiddleware, SecurityHeadersMiddleware
from storage.server.render import e, render_page
from storage.server.schedule_model import error_items

__all__ = ["BUSY_RETRY_AFTER_S", "create_app", "is_lock_contention"]

LOGGER = logging.getLogger(__name__)
BUSY_RETRY_AFTER_S = 2


def _wants_html(request: Request) -> bool:
    path = request.url.path
    return not path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def _error_reply(request: Request, err: ServerError) -> Response:
    if _wants_html(request):
        body_html = f'<section class="card narrow"><h1>{err.status}</h1><p>{e(err.detail)}</p></section>'
        return HTMLResponse(render_page("Error", body_html), status_code=err.status)
    body: dict[str, Any] = {"detail": err.detail}
    headers: dict[str, str] = {}
    if isinstance(err, InvalidSchedule):
        body["errors"] = err.errors
    if isinstance(err, RateLimited):
        headers["Retry-After"] = str(max(1, round(err.retry_after_s + 0.5)))
    if isinstance(err, Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="zsm"'
    return JSONResponse(body, status_code=err.status, headers=headers)


def is_lock_contention(exc: BaseException) -> bool:
    """A database error that only says another writer holds the lock (SQLite's busy timeout ran out)."""
    text = str(getattr(exc, "orig", exc)).lower()
    return "database is locked" in text or "database is busy" in text or "database table is locked" in text


def _install_error_handlers(app: FastAPI) -> None:
    async def server_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ServerError)
        return _error_reply(request, exc)

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        items = error_items(exc.errors())
        return JSONResponse({"detail": "invalid request", "errors": items}, status_code=422)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        LOGGER.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal server error"}, status_code=500)

    async def database_error(request: Request, exc: Exception) -> Response:
        if is_lock_contention(exc):
            LOGGER.warning("database busy on %s %s: %s", request.method, request.url.path, exc)
            return JSONResponse(
                {"detail": "the database is busy; retry later"},
                status_code=503,
                headers={"Retry-After": str(BUSY_RETRY_AFTER_S)},
            )
        return await unexpected(request, exc)

    async def too_deep(request: Request, exc: Exception) -> Response:
        return JSONResponse({"detail": "the request body is nested too deeply"}, status_code=400)

    app.add_exception_handler(RecursionError, too_deep)
    app.add_exception_handler(OperationalError, database_error)
    app.add_exception_handler(ServerError, server_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)


def _document_raw_bodies(app: FastAPI) -> None:
    """Put the models of bodies that routes parse themselves (ingest) into the OpenAPI components."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            body = IngestBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(body.pop("$defs", {}))
            components["IngestBatch"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def create_app(
    config: ServerConfig | None = None, *, clock: Clock | None = None, engine: Engine | None = None
) -> FastAPI:
    """A ready app for ``config`` (migrating the database first when ``config.migrate``)."""
    from storage.server.routes import api, health, pages

    config = config or ServerConfig()
    engine = engine or create_db_engine(config.database_url, private=True)
    if config.migrate:
        upgrade(engine)
    context = ServerContext(engine=engine, config=config, clock=clock or SystemClock())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        planner = None
        if config.plan_sites and config.planner_settings is not None:
            from storage.server.site_planner import SitePlanner

            planner = SitePlanner(engine, config.planner_settings, context.clock, config.plan_sites)
            planner.start()
        yield
        if planner is not None:
            planner.stop()
        engine.dispose()

    app = FastAPI(
        title="zsm server",
        version=__version__,
        description="Schedules, event ingest, status, telemetry and audit for zsm battery controllers.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.zsm = context
    _install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(pages.router)
    pages.mount_static(app)
    _document_raw_bodies(app)
    app.add_middleware(ScheduleFastPath, context=context)
    app.add_middleware(BodyLimitMiddleware, limit=config.max_body_bytes, ingest_limit=config.max_ingest_bytes)
    app.add_middleware(SecurityHeadersMiddleware)
    return app
