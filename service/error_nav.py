"""The organization's nav (routes/nav.py) on an error page under `/orgs/{org_id}/`, as its other
pages show it, for a signed-in person of that organization only.

Anyone else keeps the page's minimal header: a 404 for an organization the person may not see
must read exactly as one for an organization that does not exist. The nav is read before the
page is built, in a thread (the exception handlers run on the event loop), and left on
`request.state` for `errors.error_page`; a nav that cannot be read leaves the header minimal
rather than turn the error page into a 500.

A URL the edge refuses (a NUL in the query, middleware.py) is answered before any route and so
before `permissions.authorize`: `read_signed_in` checks the request's sign-in first, as
authorize does, and only a valid one counts.
"""

import logging
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import Request

from alignment.access.principal import Principal
from alignment.db import get_app_sessionmaker
from alignment.errors import Unauthorized
from alignment.lock_bound import bound_lock_waits
from alignment.tenancy import set_tenant_at_begin
from service.auth import recently_checked, signed_in_ticket
from service.deps import database_permit
from service.login_limits import authenticate_limited
from service.ratelimit import TooManyRequests

log = logging.getLogger(__name__)
STATE_KEY = "org_nav"
# A 503 may mean the database itself is away, and a 429 asks the client to do less: neither
# page waits for a read it can do without.
WITHOUT_NAV = frozenset({429, 503})


async def read_org_nav(request: Request, status: int, org_id: str | None = None) -> None:
    """Leave the nav for the error page of `status` about to be built, when it has one.
    `org_id`: the organization in the URL, for a page built before routing (no path params)."""
    principal = getattr(request.state, "principal", None)
    org_id = org_id or request.path_params.get("org_id")
    # The organization check `permissions.authorize` makes: the person's own, never another's.
    if status in WITHOUT_NAV or principal is None or org_id is None or principal.org_id != org_id:
        return
    try:
        # A turn at the database like any request's: the route's own permit was given back
        # when it raised, and an error page must not be a way around the gate (deps.py).
        async with asynccontextmanager(database_permit)(request):
            nav = await anyio.to_thread.run_sync(_read, principal, org_id)
    except Exception:
        log.warning("error page for %s shown without its nav", request.url.path, exc_info=True)
        return
    setattr(request.state, STATE_KEY, nav)


def _read(principal: Principal, org_id: str) -> dict:
    # Imported here: service.routes imports service.errors, which imports this module.
    from service.routes.nav import org_nav

    # A session of its own: the request's was closed (rolled back) when the route raised.
    with get_app_sessionmaker()() as session:
        set_tenant_at_begin(session, org_id)
        return org_nav(session, principal, org_id, "")


async def read_signed_in(request: Request) -> None:
    """Leave the principal of a request refused before routing on `request.state`, as
    authorize would: the error page then says who is signed in and may show the nav.

    Only a valid sign-in counts. No credentials, bad ones, or a client refused for failing too
    often all leave the page exactly as it is for anyone; a bad credential spends a failed
    attempt (`authenticate_limited`), so a refused URL is no cheaper way to try tickets or keys
    than any route. A page read spends the key's request budget, as an authorized one does."""
    principal = recently_checked(request)
    if principal is None:
        if request.headers.get("authorization") is None and signed_in_ticket(request) is None:
            return  # nothing to check, and no database work for it
        try:
            async with asynccontextmanager(database_permit)(request):
                principal = await anyio.to_thread.run_sync(_authenticate, request)
        except (Unauthorized, TooManyRequests):
            return
        except Exception:
            log.warning("no sign-in read for the error page", exc_info=True)
            return
    try:
        request.app.state.rate_limiter.take(str(principal.key_id or principal.name))
    except TooManyRequests:
        return
    request.state.principal = principal


def _authenticate(request: Request) -> Principal:
    session = get_app_sessionmaker()()
    bound_lock_waits(session)
    try:
        principal = authenticate_limited(request, session)
        session.commit()  # the key's last use, as the request's own session would commit it
        return principal
    finally:
        session.close()
