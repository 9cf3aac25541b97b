"""Errors of the server's services; :mod:`storage.server.app` maps each to one HTTP reply."""

from __future__ import annotations

from typing import Any

__all__ = [
    "Forbidden",
    "InvalidInput",
    "InvalidSchedule",
    "NotFound",
    "PreconditionFailed",
    "PreconditionRequired",
    "RateLimited",
    "ServerError",
    "TooLarge",
    "Unauthorized",
]


class ServerError(Exception):
    """Base of every expected error; ``status`` is the HTTP status it maps to."""

    status = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class Unauthorized(ServerError):
    """No credentials, or credentials that match nothing."""

    status = 401


class Forbidden(ServerError):
    """Valid credentials without the right to this site or action (also a CSRF failure)."""

    status = 403


class NotFound(ServerError):
    """No such site, version or record."""

    status = 404


class PreconditionFailed(ServerError):
    """The If-Match version is not the current one (someone else changed the schedule)."""

    status = 412


class PreconditionRequired(ServerError):
    """A schedule write came without If-Match."""

    status = 428


class TooLarge(ServerError):
    """The request body or batch is over the limit."""

    status = 413


class RateLimited(ServerError):
    """Too many requests; retry after ``retry_after_s``."""

    status = 429

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class InvalidInput(ServerError):
    """A well-formed value the server cannot work with (e.g. a date at the calendar's edge)."""

    status = 422


class InvalidSchedule(ServerError):
    """The schedule failed validation; ``errors`` lists slot, field and message of each problem."""

    status = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("the schedule is invalid")
        self.errors = errors
