"""A fast path for the hottest request: a controller's ``GET /api/v1/sites/{site}/schedule``.

Daemons poll their schedule; the answer is almost always the cached current version. This ASGI layer
answers such a request directly when every condition of the full route holds (bearer token of that very
site from the token cache, rate limit not reached, schedule cached). Anything else -- no token, a
cache miss, another site, a person with a cookie -- falls through to the FastAPI route, which stays
the one documented in the OpenAPI schema and gives the same answers.
"""

from __future__ import annotations

import re
from typing import Any

from storage.server.context import ServerContext
from storage.server.middleware import ASGIApp, Receive, Scope, Send
from storage.server.security import hash_token

__all__ = ["ScheduleFastPath"]

_PATH = re.compile(r"^/api/v1/sites/([a-z0-9][a-z0-9_-]{0,63})/schedule$")


class ScheduleFastPath:
    """Serve cached schedules to their own site's controllers without the framework's overhead."""

    def __init__(self, app: ASGIApp, context: ServerContext) -> None:
        self.app = app
        self.context = context

    def _answer(self, scope: Scope) -> tuple[int, list[tuple[bytes, bytes]], bytes] | None:
        match = _PATH.match(scope.get("path", ""))
        if match is None:
            return None
        token = if_none_match = None
        for name, value in scope.get("headers", ()):
            if name == b"authorization":
                scheme, _, rest = value.decode("latin-1").partition(" ")
                if scheme.lower() != "bearer" or not rest.strip():
                    return None
                token = rest.strip()
            elif name == b"if-none-match":
                if_none_match = value.decode("latin-1")
            elif name == b"cookie":
                return None
        if token is None:
            return None
        context = self.context
        owner = context.token_cache.get(hash_token(token))
        if owner is None or owner.name != match.group(1):
            return None
        cached = context.schedule_cache.get(owner.id)
        if cached is None or context.api_limiter.take(f"token:{owner.id}") > 0:
            return None
        doc, body = cached
        headers = [(b"etag", doc.etag.encode()), (b"x-schedule-version", str(doc.version).encode())]
        if if_none_match and doc.etag in [part.strip() for part in if_none_match.split(",")]:
            return 304, headers, b""
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        return 200, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        answer: Any = None
        if scope["type"] == "http" and scope.get("method") == "GET":
            answer = self._answer(scope)
        if answer is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
