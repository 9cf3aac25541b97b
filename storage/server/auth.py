"""Who is asking: a controller (site token) or a person (session cookie), and may they do this.

Controllers send ``Authorization: Bearer <site token>``; a token reaches only its own site. People send
the session cookie; they see the sites they have a role on, and writes need the ``editor`` role plus the
session's CSRF token (``X-CSRF-Token`` header for JSON, a ``csrf_token`` form field for forms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request

from storage.server.context import ServerContext
from storage.server.errors import Forbidden, NotFound, RateLimited, Unauthorized
from storage.server.security import constant_time_equal, hash_token
from storage.server.services.sites import SiteRef, get_site, site_for_token
from storage.server.services.users import Principal, principal_for_session

__all__ = [
    "SESSION_COOKIE",
    "Access",
    "SiteAccess",
    "context_of",
    "current_principal",
    "require_controller",
    "require_editor",
]

SESSION_COOKIE = "zsm_session"
SITE_PATH = Path(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$", description="Site name")


def context_of(request: Request) -> ServerContext:
    """The :class:`ServerContext` of the app serving ``request``."""
    context: ServerContext = request.app.state.zsm
    return context


@dataclass(frozen=True, slots=True)
class Access:
    """A request's right to one site: through the site's token, or a person's role."""

    site: SiteRef
    principal: Principal | None
    role: str  # "controller", "editor" or "viewer"

    @property
    def author(self) -> str:
        return f"user:{self.principal.username}" if self.principal else f"controller:{self.site.name}"


def bearer_token(request: Request) -> str | None:
    """The bearer token of ``request``, if it carries one."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("malformed Authorization header: expected 'Bearer <token>'")
    return token.strip()


def current_principal(request: Request) -> Principal | None:
    """The logged-in person, or ``None``."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    context = context_of(request)
    return principal_for_session(context.engine, cookie, context.clock.now())


def _token_owner(context: ServerContext, token: str) -> SiteRef | None:
    key = hash_token(token)
    owner = context.token_cache.get(key)
    if owner is None:
        owner = site_for_token(context.engine, token)
        if owner is not None:
            context.token_cache.put(key, owner)
    return owner


async def site_access(request: Request, site: Annotated[str, SITE_PATH]) -> Access:
    """Resolve who may act on ``site`` (401 without credentials, 403 for another site).

    Async on purpose: a controller's request is answered from the token cache without a thread hop;
    the rare database lookups are short.
    """
    context = context_of(request)
    token = bearer_token(request)
    if token is not None:
        owner = _token_owner(context, token)
        if owner is None:
            raise Unauthorized("unknown or revoked site token")
        if owner.name != site:
            raise Forbidden("this token belongs to another site")
        wait = context.api_limiter.take(f"token:{owner.id}")
        if wait > 0 and not request.url.path.endswith("/events"):
            raise RateLimited("too many requests for this site; slow down", wait)
        return Access(owner, None, "controller")
    principal = current_principal(request)
    if principal is None:
        raise Unauthorized("log in or send a site token")
    role = principal.role_on(site)
    if role is None:
        raise Forbidden("you have no role on this site")
    try:
        resolved = get_site(context.engine, site)
    except NotFound as err:  # the role outlived the site
        raise Forbidden("you have no role on this site") from err
    return Access(resolved, principal, role)


SiteAccess = Annotated[Access, Depends(site_access)]


def check_csrf(principal: Principal, supplied: str | None) -> None:
    """Refuse a person's write without the session's CSRF token."""
    if not supplied or not constant_time_equal(supplied, principal.csrf_token):
        raise Forbidden("missing or wrong CSRF token; reload the page")


def require_editor(request: Request, access: SiteAccess) -> Access:
    """A write: the site's controller, or an editor with the CSRF header."""
    if access.principal is None:
        return access
    if access.role != "editor":
        raise Forbidden("you may view this site but not change it (viewer role)")
    check_csrf(access.principal, request.headers.get("x-csrf-token"))
    return access


async def require_controller(access: SiteAccess) -> Access:
    """Only the site's daemon (its token) may do this."""
    if access.role != "controller":
        raise Forbidden("only the site's controller token may do this")
    return access
