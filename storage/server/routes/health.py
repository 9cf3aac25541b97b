"""Liveness and readiness."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from storage.migrate import current_revision
from storage.server.auth import context_of

__all__ = ["router"]

LOGGER = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="The database answers and is migrated")
def readyz(request: Request) -> JSONResponse:
    context = context_of(request)
    try:
        with context.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        revision = current_revision(context.engine)
    except Exception:  # any database failure means "not ready"
        LOGGER.exception("readiness check failed")
        return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
    if revision is None:
        return JSONResponse({"status": "unavailable", "detail": "database not migrated"}, status_code=503)
    return JSONResponse({"status": "ok", "revision": revision})
